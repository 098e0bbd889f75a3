"""Benchmark: answers per second of the base and the tuned model through tunesmith's one
generator (``tunesmith.inference``: the loader evaluation, calibration, the guard and compare
use, and its batched greedy generation with the KV cache).

    python bench/bench_answer.py [--model DIR] [--adapter DIR] [--questions 64]
        [--batch-size 16] [--max-new-tokens 32] [--scores] [--load-in 4bit|8bit]

- ``--model``: any causal LM folder (or a Hub name in the local cache). Default: the tiny
  built-in LLaMA built the way the tests build it (speed only; its answers mean nothing).
- ``--adapter``: what training saved (``runs/<name>/train/adapter``: any method) or a merged
  model folder. Default: a fresh LoRA (r 8 on the attention projections) saved and loaded back
  the way evaluation loads an adapter, so "tuned" measures the adapter's cost.
- questions: the SQuAD 2.0 sample in ``shared/data/squad_v2_sample`` when present (real
  contexts and human questions), else ``--data FILE`` (SQuAD JSON or QA-record JSONL).

Reported: for base and tuned, answers/s and generated tokens/s (wall clock, after one warm-up
batch), the device, the batch size and the versions.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import MethodConfig, RunConfig
from tunesmith.config.model import TinyModelConfig
from tunesmith.data.formats.squad import import_squad
from tunesmith.data.schema import QARecord, read_records
from tunesmith.inference import generate_answers, inference_device, load_predictor
from tunesmith.methods import METHODS
from tunesmith.models import tiny
from tunesmith.models.loading import load_causal_lm

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "squad_v2_sample" / "dev-sample.json"
TINY = TinyModelConfig(hidden_size=64, layers=2, heads=2, vocab_size=400,
                       max_position_embeddings=512, pretrain_seq_len=64, pretrain_batch_size=4,
                       pretrain_max_steps=2)


def load_questions(path: Path | None, n: int) -> list[QARecord]:
    source = path or SAMPLE
    if not source.exists():
        raise SystemExit(f"{source}: no questions; give --data FILE (SQuAD JSON or JSONL)")
    records = import_squad(source).records if source.suffix == ".json" else read_records(source)
    return records[:n]


def tiny_model(records: list[QARecord], root: Path) -> str:
    texts = list(dict.fromkeys(r.context for r in records))
    return str(tiny.build_tiny_model(texts, TINY, seed=0, cache_root=root, progress=False))


def fresh_lora(base_model: str, out: Path) -> Path:
    """An untrained LoRA saved as training saves a PEFT adapter (speed does not depend on
    the adapter's values)."""
    method = METHODS.get("lora")()
    model = method.prepare(load_causal_lm(base_model), MethodConfig(name="lora").options)
    method.save(model, out)
    return out


def measure(config: RunConfig, label: str, base_model: str, adapter: Path | None,
            records: list[QARecord], batch_size: int, max_new_tokens: int,
            scores: bool) -> dict[str, Any]:
    predictor = load_predictor(config, None, label, base_model=base_model, weights=adapter)
    questions = [r.question for r in records]
    contexts = [r.context for r in records]
    system = config.guard.system_message()
    quiet = Console(quiet=True)  # no progress bars inside the timing
    generate_answers(predictor, questions[:batch_size], contexts[:batch_size], system,
                     max_new_tokens, batch_size, scores=scores, console=quiet)  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    answers = generate_answers(predictor, questions, contexts, system, max_new_tokens,
                               batch_size, scores=scores, console=quiet)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tokens = sum(a.tokens for a in answers)
    return {"model": label, "answers": len(answers), "seconds": seconds,
            "answers_per_s": len(answers) / seconds, "tokens_per_s": tokens / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="causal LM folder or cached Hub name (default: tiny)")
    parser.add_argument("--adapter", type=Path, help="trained adapter or merged model folder")
    parser.add_argument("--data", type=Path, help="SQuAD JSON or QA-record JSONL")
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--scores", action="store_true", help="also token probabilities")
    parser.add_argument("--load-in", choices=["8bit", "4bit"])
    args = parser.parse_args()

    records = load_questions(args.data, args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.model or tiny_model(records, Path(tmp))
        adapter = args.adapter or fresh_lora(base, Path(tmp) / "adapter")
        config = RunConfig.model_validate({
            "name": "bench", "output_dir": tmp, "data": {"sources": [{"path": tmp}]},
            "eval": {"load_in": args.load_in}})
        rows = [measure(config, label, base, weights, records, args.batch_size,
                        args.max_new_tokens, args.scores)
                for label, weights in (("base", None), ("tuned", adapter))]
    print(f"model: {args.model or 'tiny (built here)'}; adapter: {args.adapter or 'fresh LoRA'}; "
          f"device: {inference_device()}; load_in: {args.load_in}; {len(records)} questions, "
          f"batch {args.batch_size}, max {args.max_new_tokens} new tokens, "
          f"scores {'on' if args.scores else 'off'}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, transformers "
          f"{metadata.version('transformers')}, peft {metadata.version('peft')}, "
          f"torch threads {torch.get_num_threads()}")
    print("| model | answers | seconds | answers/s | generated tokens/s |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['answers']} | {r['seconds']:.2f} | "
              f"{r['answers_per_s']:.2f} | {r['tokens_per_s']:.1f} |")


if __name__ == "__main__":
    main()
