"""Benchmark: answers/s of tunesmith's batched generator (with and without shared prompt
prefixes) against a plain per-question ``model.generate`` loop and transformers'
``pipeline("text-generation")``, base and tuned, with the greedy answers compared one by one.

    python bench/bench_generate.py [--questions N] [--batch-size 16] [--max-new-tokens 24]
        [--adapter runs/quickstart/train/adapter] [--out bench/results/generate.json]

- **model**: SmolLM2-135M-Instruct (the quickstart's base; ``--model`` for another folder).
- **questions**: the quickstart's evaluation set (``examples/quickstart/heldout/
  questions.json``: 65 human questions, 5 or 6 about each of 12 documents the model was not
  trained on; all of them unless ``--questions``), the prompts built as evaluation builds
  them (``inference.build_prompts``: the training format).
- **tuned**: ``--adapter`` (what ``tunesmith train`` saved), else
  ``runs/quickstart/train/adapter`` when the quickstart ran, else a fresh LoRA (r 16, every
  linear layer; speed does not depend on its values, and a fresh LoRA's B is zero).
- **the four paths**, on the same loaded model:
  - *loop*: one ``model.generate(max_new_tokens, do_sample=False)`` per question;
  - *pipeline*: ``pipeline("text-generation")`` over the prompts, its ``batch_size`` the same
    as tunesmith's (left padding), greedy, ``return_full_text=False``;
  - *tunesmith_unshared*: ``inference.generate(shared_prefix=False)`` (prompts sorted by
    length and batched, left padding, KV cache, stopping when every answer has ended; the tuned
    model with its LoRA merged when ``load_predictor`` merges it);
  - *tunesmith*: ``inference.generate`` as every caller runs it: the same, and the questions
    about one document share its prompt prefix (system message, ``Context: ...``,
    ``Question:``), whose KV cache is computed once per batch; each question runs only its own
    suffix (about 15 of its 135 to 155 tokens) and decodes from a copy.
  Each path is warmed up on one batch first; wall clock, one repeat unless ``--repeats``.

Reported: answers/s of each path and each path's ratio to the loop, the share of answers
identical to the loop's, the machine, the versions and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from transformers import pipeline

from tunesmith.config import RunConfig
from tunesmith.config.model import ModelConfig
from tunesmith.data.formats.squad import import_squad
from tunesmith.inference import inference_device, load_predictor
from tunesmith.inference.generate import build_prompts, generate
from tunesmith.methods import METHODS
from tunesmith.models.gguf import resolve_gguf_model
from tunesmith.models.loading import load_causal_lm

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "examples" / "quickstart" / "heldout" / "questions.json"
QUICKSTART_ADAPTER = REPO / "runs" / "quickstart" / "train" / "adapter"
MODEL = "smollm2-135m-instruct"


def fresh_lora(base_model: str, out: Path) -> Path:
    method = METHODS.get("lora")()
    options = method.Options.model_validate({"r": 16, "alpha": 32,
                                             "target_modules": "all-linear"})
    method.save(method.prepare(load_causal_lm(base_model), options), out)
    return out


def _clean(tokenizer: Any, ids: Sequence[int]) -> str:
    stop = {tokenizer.pad_token_id, tokenizer.eos_token_id}
    return str(tokenizer.decode([t for t in ids if t not in stop],
                                skip_special_tokens=True)).strip()


def loop(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
         batch_size: int) -> list[str]:
    out = []
    for prompt in prompts:
        batch = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        with torch.inference_mode():
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id)
        out.append(_clean(tokenizer, ids[0, batch["input_ids"].shape[1]:].tolist()))
    return out


def with_pipeline(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
                  batch_size: int) -> list[str]:
    tokenizer.padding_side = "left"
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer,
                    device=model.device)
    results = pipe(list(prompts), batch_size=batch_size, max_new_tokens=max_new_tokens,
                   do_sample=False, return_full_text=False, add_special_tokens=False,
                   pad_token_id=tokenizer.pad_token_id)
    return [str(r[0]["generated_text"]).strip() for r in results]


def tunesmith_unshared(model: Any, tokenizer: Any, prompts: Sequence[str],
                       max_new_tokens: int, batch_size: int) -> list[str]:
    return [g.text for g in generate(model, tokenizer, prompts, max_new_tokens, batch_size,
                                     console=Console(quiet=True), shared_prefix=False)]


def tunesmith(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int,
              batch_size: int) -> list[str]:
    return [g.text for g in generate(model, tokenizer, prompts, max_new_tokens, batch_size,
                                     console=Console(quiet=True))]


PATHS: dict[str, Callable[..., list[str]]] = {"loop": loop, "pipeline": with_pipeline,
                                              "tunesmith_unshared": tunesmith_unshared,
                                              "tunesmith": tunesmith}


def measure(predictor: Any, prompts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    model, tokenizer = predictor.model, predictor.tokenizer
    rows: dict[str, Any] = {}
    for name, fn in PATHS.items():
        fn(model, tokenizer, prompts[: args.batch_size], args.max_new_tokens,
           args.batch_size)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            answers = fn(model, tokenizer, prompts, args.max_new_tokens, args.batch_size)
            times.append(time.perf_counter() - start)
        seconds = min(times)
        rows[name] = {"seconds": seconds, "answers_per_s": len(prompts) / seconds,
                      "answers": answers}
        print(f"  {predictor.label:5s} {name:18s} {len(prompts) / seconds:6.2f} answers/s "
              f"({seconds:.1f} s)", flush=True)
    reference = rows["loop"]["answers"]
    for row in rows.values():
        row["ratio_to_loop"] = row["answers_per_s"] / rows["loop"]["answers_per_s"]
        row["identical_to_loop"] = sum(a == b for a, b in zip(row["answers"], reference,
                                                              strict=True)) / len(reference)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=f"causal LM folder (default: {MODEL})")
    parser.add_argument("--adapter", type=Path, help="what tunesmith train saved")
    parser.add_argument("--questions", type=int, help="the first N (default: all 65)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "generate.json")
    args = parser.parse_args()

    records = import_squad(QUESTIONS).records[: args.questions]
    base = args.model or str(resolve_gguf_model(ModelConfig(name=MODEL)))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        adapter = args.adapter or (QUICKSTART_ADAPTER if QUICKSTART_ADAPTER.exists()
                                   else fresh_lora(base, Path(tmp) / "adapter"))
        config = RunConfig.model_validate({"name": "bench", "output_dir": tmp,
                                           "data": {"sources": [{"path": tmp}]}})
        results = {}
        for label, weights in (("base", None), ("tuned", adapter)):
            predictor = load_predictor(config, None, label, base_model=base, weights=weights)
            prompts = build_prompts(predictor.tokenizer, [r.question for r in records],
                                    [r.context for r in records], config.guard.system_message())
            results[label] = measure(predictor, prompts, args)
            del predictor
    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"device {inference_device()}, torch threads {torch.get_num_threads()}",
        "versions": {p: metadata.version(p) for p in ("torch", "transformers", "peft")},
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "model": args.model or MODEL, "adapter": str(args.adapter or (
            QUICKSTART_ADAPTER if QUICKSTART_ADAPTER.exists() else "fresh LoRA")),
        "questions": len(records), "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens, "repeats": args.repeats,
        "results": {label: {path: {k: v for k, v in row.items() if k != "answers"}
                            for path, row in rows.items()} for label, rows in results.items()},
        "answers": {label: {path: row["answers"] for path, row in rows.items()}
                    for label, rows in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"{summary['machine']}; {summary['versions']}; load average "
          f"{load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print("| model | path | answers/s | x loop | answers identical to the loop's |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, rows in summary["results"].items():
        for path, row in rows.items():
            print(f"| {label} | {path} | {row['answers_per_s']:.2f} | "
                  f"{row['ratio_to_loop']:.2f} | {100 * row['identical_to_loop']:.0f}% |")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
