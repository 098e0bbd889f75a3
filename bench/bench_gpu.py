"""Benchmark (GPU): LoRA and QLoRA training throughput, peak memory and MFU for TRL's defaults,
hand-tuned TRL and tunesmith, on SmolLM2-135M-Instruct and on random-weight models with the
shapes of Qwen2.5-0.5B and 1.5B (the planner's catalog), beside the planner's memory estimate.

    bash bench/gpu.sh                       # all of it, within 8 minutes on one GPU
    python bench/bench_gpu.py [--models smollm2,qwen2.5-0.5b,qwen2.5-1.5b]
        [--methods lora,qlora] [--steps 8] [--warmup 2] [--batch 8] [--seq 512]
        [--out bench/results/gpu.json]
    python bench/bench_gpu.py --cpu-smoke   # the script's own check on a CPU: tiny, 2 steps

For each model x method x trainer, the same records (the quickstart's held-out questions with
their contexts, in the chat format training uses, repeated to fill the steps) and LoRA r 16,
alpha 32 on every linear layer:

- **TRL defaults**: ``SFTConfig`` as shipped (bf16, gradient checkpointing, ...), batch and
  ``max_length`` set;
- **hand-tuned TRL**: bf16 where the card has it, no gradient checkpointing, completion-only
  loss, TRL's padding-free batches where the attention supports it;
- **tunesmith**: ``train_sft`` with its defaults (what ``tunesmith train`` does).

Measured over the steps after ``--warmup``: real (non-pad) tokens/s, the CUDA allocator's peak
(``max_memory_allocated``, reset before each run), and MFU = tokens/s x F / the card's dense
bf16 peak (the planner's GPU catalog), with F = 4N per token for LoRA and QLoRA (forward 2N,
backward through the frozen weights 2N, no weight gradients; N the base's parameters). Where
``liger-kernel`` imports, hand-tuned TRL runs once more with ``use_liger_kernel``. The
planner's per-device peak estimate for the same setup stands beside each measurement.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import tempfile
import time
import traceback
from datetime import datetime, timezone
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "examples" / "quickstart" / "heldout" / "questions.json"
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


class StepClock(TrainerCallback):  # type: ignore[misc]
    """Wall time and tokens of the steps after the warm-up."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.start = 0.0
        self.tokens0 = 0
        self.seconds = 0.0
        self.tokens = 0

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.warmup:
            self._sync()
            self.start = time.perf_counter()
            self.tokens0 = int(state.num_input_tokens_seen or 0)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._sync()
        self.seconds = time.perf_counter() - self.start
        self.tokens = int(state.num_input_tokens_seen or 0) - self.tokens0


def build_random_model(key: str, folder: Path) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from tunesmith.plan.catalog import model_catalog

    s = model_catalog()[key]
    config = Qwen2Config(hidden_size=s.hidden, intermediate_size=s.intermediate,
                         num_hidden_layers=s.layers, num_attention_heads=s.heads,
                         num_key_value_heads=s.kv_heads, vocab_size=s.vocab,
                         tie_word_embeddings=s.tied, max_position_embeddings=4096)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).to(torch.bfloat16).save_pretrained(folder)
    gc.collect()


def smollm2_folder(tokenizer_only: bool = False) -> str:
    from tunesmith.config.model import ModelConfig
    from tunesmith.models.gguf import resolve_gguf_model

    return str(resolve_gguf_model(ModelConfig(name="smollm2-135m-instruct")))


def records(n: int) -> list[Any]:
    from tunesmith.data.formats.squad import import_squad

    base = import_squad(QUESTIONS).records
    return [base[i % len(base)].model_copy(update={"id": f"{base[i % len(base)].id}-{i}"})
            for i in range(n)]


def run_config(tmp: Path, method: str, batch: int, seq: int, steps: int) -> Any:
    from tunesmith.config import RunConfig

    return RunConfig.model_validate({
        "name": "gpu", "output_dir": str(tmp), "seed": 0, "model": {"name": "tiny"},
        "data": {"sources": [{"path": str(tmp)}]},
        "method": {"name": method, **LORA},
        "train": {"batch_size": batch, "max_length": seq, "max_steps": steps,
                  "learning_rate": 1e-4, "logging_steps": 1, "save_total_limit": 1}})


def trl_run(kind: str, folder: str, method: str, recs: list[Any], cfg: Any, clock: StepClock,
            out: Path, liger: bool = False) -> dict[str, Any]:
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from trl import SFTConfig, SFTTrainer

    from tunesmith.data.formats.examples import to_examples
    from tunesmith.models.loading import load_causal_lm, load_tokenizer

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    tokenizer = load_tokenizer(folder)
    kwargs: dict[str, Any] = {}
    if method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32)
        if cuda:
            kwargs["device_map"] = {"": 0}
    model: Any = load_causal_lm(folder, dtype=torch.bfloat16 if bf16 else torch.float32,
                                **kwargs)
    if method == "qlora":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=kind == "TRL defaults")
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
    t = cfg.train
    common: dict[str, Any] = dict(
        output_dir=str(out), per_device_train_batch_size=t.batch_size, max_length=t.max_length,
        max_steps=t.max_steps, learning_rate=t.learning_rate, logging_steps=1,
        save_strategy="no", report_to="none", disable_tqdm=True, seed=0,
        include_num_input_tokens_seen="non_padding", use_cpu=not cuda)
    if kind == "TRL defaults":
        args = SFTConfig(**common, **({} if bf16 else {"bf16": False}))
    else:
        args = SFTConfig(**common, bf16=bf16, fp16=False, gradient_checkpointing=False,
                         completion_only_loss=True, padding_free=cuda,
                         use_liger_kernel=liger)
    trainer = SFTTrainer(model=model, args=args,
                         train_dataset=Dataset.from_list(to_examples(recs, cfg.guard)),
                         processing_class=tokenizer, callbacks=[clock])
    trainer.train()
    return {"trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def tunesmith_run(folder: str, recs: list[Any], cfg: Any, clock: StepClock,
                  out: Path) -> dict[str, Any]:
    from tunesmith.data.schema import write_records
    from tunesmith.train.sft import train_sft

    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_records(data / "train.jsonl", recs)
    write_records(data / "val.jsonl", [])
    result = train_sft(cfg, folder, data, out / "train", callbacks=[clock])
    return {"trainable_params": result.metrics["trainable_params"],
            "precision": result.hardware.precision,
            "gradient_checkpointing": result.hardware.gradient_checkpointing,
            "reasons": result.reasons}


def planner_peak_gib(folder: str, cfg: Any) -> float | None:
    from tunesmith.plan.catalog import resolve_model
    from tunesmith.plan.memory import estimate_memory
    from tunesmith.plan.planner import detect_hardware, setup_for

    try:
        return round(estimate_memory(resolve_model(folder),
                                     setup_for(cfg, detect_hardware(cfg))).peak, 3)
    except Exception as exc:  # reported, not fatal: the measurement stands on its own
        print(f"    planner estimate failed: {exc}")
        return None


def peak_tflops() -> float | None:
    if not torch.cuda.is_available():
        return None
    from tunesmith.plan.catalog import load_gpus

    name = torch.cuda.get_device_name(0).lower()
    for key, gpu in load_gpus().items():
        if key.split("-")[0] in name.replace(" ", ""):
            return float(gpu.tflops_bf16)
    return None


def one(model_key: str, folder: str, method: str, trainer: str, args: argparse.Namespace,
        tmp: Path) -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    steps = args.warmup + args.steps
    cfg = run_config(tmp, method, args.batch, args.seq, steps)
    recs = records(args.batch * steps * 2)
    clock = StepClock(args.warmup)
    out = Path(tempfile.mkdtemp(dir=tmp))
    row: dict[str, Any] = {"model": model_key, "method": method, "trainer": trainer}
    started = time.perf_counter()
    try:
        if trainer == "tunesmith":
            row.update(tunesmith_run(folder, recs, cfg, clock, out))
        else:
            row.update(trl_run(trainer.removesuffix(" + liger"), folder, method, recs, cfg,
                               clock, out, liger=trainer.endswith("+ liger")))
    except Exception as exc:  # one configuration failing must not lose the others
        traceback.print_exc()
        row["error"] = f"{type(exc).__name__}: {exc}"[:500]
        return row
    row["wall_s"] = round(time.perf_counter() - started, 1)
    row["tokens_per_s"] = clock.tokens / clock.seconds if clock.seconds > 0 else None
    row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3) if cuda \
        else None
    row["planner_peak_gib"] = planner_peak_gib(folder, cfg)
    n = sum(p.numel() for p in __import__("safetensors.torch", fromlist=["load_file"])
            .load_file(next(Path(folder).glob("*.safetensors"))).values()) \
        if list(Path(folder).glob("*.safetensors")) else None
    peak = peak_tflops()
    row["base_params"] = n
    if row["tokens_per_s"] and n and peak:
        row["mfu"] = row["tokens_per_s"] * 4 * n / (peak * 1e12)
    return row


def write_summary(args: argparse.Namespace, rows: list[dict[str, Any]], began: float
                  ) -> dict[str, Any]:
    summary = {
        "benchmark": "gpu", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)",
        "peak_tflops_bf16": peak_tflops(), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
        "versions": {p: metadata.version(p) for p in ("torch", "transformers", "trl", "peft",
                                                      "bitsandbytes")},
        "batch": args.batch, "seq": args.seq, "steps": args.steps, "warmup": args.warmup,
        "repeats": 1, "lora": LORA, "seconds": round(time.perf_counter() - began, 1),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".json.tmp")
    partial.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    partial.replace(args.out)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="smollm2,qwen2.5-0.5b,qwen2.5-1.5b")
    parser.add_argument("--methods", default="lora,qlora")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "gpu.json")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="check the script on a CPU: SmolLM2, LoRA, 2 steps, batch 2")
    args = parser.parse_args()
    if args.cpu_smoke:
        args.models, args.methods, args.steps, args.warmup, args.batch, args.seq = (
            "smollm2", "lora", 1, 1, 2, 256)
    elif not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA GPU (--cpu-smoke checks the script)")
    trainers = ["TRL defaults", "hand-tuned TRL", "tunesmith"]
    if find_spec("liger_kernel") is not None and torch.cuda.is_available():
        trainers.insert(2, "hand-tuned TRL + liger")
    rows: list[dict[str, Any]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for key in args.models.split(","):
            folder = smollm2_folder() if key == "smollm2" else str(tmp / key)
            if key != "smollm2":
                build_random_model(key, Path(folder))
            for method in args.methods.split(","):
                for trainer in trainers:
                    row = one(key, folder, method, trainer, args, tmp)
                    rows.append(row)
                    print(f"{key:13s} {method:5s} {trainer:22s} "
                          + (row.get("error") or
                             f"{row['tokens_per_s'] or 0:9.0f} tokens/s  peak "
                             f"{row['peak_memory_gib']} GiB (planner {row['planner_peak_gib']})"
                             f"  MFU {row.get('mfu', float('nan')):.3f}"), flush=True)
                    # written after every row: gpu.sh's time limit still leaves what was measured
                    summary = write_summary(args, rows, began)
    print(f"written to {args.out} ({summary['seconds']} s)")


if __name__ == "__main__":
    main()
