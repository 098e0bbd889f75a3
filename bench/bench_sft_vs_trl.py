"""Benchmark: tunesmith's LoRA training path against hand-tuned TRL, on SmolLM2-135M-Instruct.

Both train the same LoRA (r 16, alpha 32, every linear layer) for one epoch on the same
prompt/completion records: SQuAD 2.0 sample questions (``shared/data/squad_v2_sample``, real
Wikipedia paragraphs and human questions; several per paragraph, in the file's order), the
context and question in, the answer or the abstention phrase out, through the model's chat
template.

- **hand-tuned TRL**: ``SFTTrainer`` with fp32, no gradient checkpointing, batch 8,
  ``max_length`` 512, completion-only loss, TRL's own loss;
- **tunesmith**: ``tunesmith.train.sft.train_sft`` with its defaults (on this CPU: the LM head
  at supervised positions, shared-context packing), batch 8, ``max_length`` 512.

Reported: the records' real (non-pad) tokens per second of training wall time (the same token
count for both: every record once), the tokens tunesmith computed, the mean training loss of
the epoch, the ratio of the two throughputs, with the machine, versions and load average, and
the final loss: each trained adapter scored the same way (completion-only cross-entropy, token
weighted, one record at a time) on held-out sample questions about paragraphs neither trained
on. The mean training loss is not comparable between the two: shared-context packing groups the
records into other batches (more, smaller optimizer steps), so the epoch's running mean differs
even where the trained models agree; the held-out loss is the like-for-like number.

    python bench/bench_sft_vs_trl.py [--records 96] [--heldout 48] [--repeats 1] [--seeds 0]
        [--paths trl,tunesmith[,trl-seed1,tunesmith-unpacked]]

``--seeds 0,1,2`` trains every path once per seed (data order and LoRA's start) and compares
the paths' *mean* held-out loss: on 12 steps one seed moves it by about 10%, more than the
agreement asked for, so one seed cannot tell two trainers apart.
        [--out bench/results/sft_vs_trl.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import set_seed
from trl import SFTConfig, SFTTrainer

from tunesmith.config import RunConfig
from tunesmith.config.model import ModelConfig
from tunesmith.data.formats.examples import to_examples
from tunesmith.data.formats.squad import import_squad
from tunesmith.data.schema import QARecord, write_records
from tunesmith.models.gguf import resolve_gguf_model
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.train.sft import train_sft

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "squad_v2_sample" / "dev-sample.json"
MODEL = "smollm2-135m-instruct"
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


def run_config(output: Path, seed: int = 0, shared_context: bool | str = "auto") -> RunConfig:
    return RunConfig.model_validate({
        "name": "bench", "output_dir": str(output), "seed": seed,
        "model": {"name": MODEL},
        "data": {"sources": [{"path": str(output)}]},  # unused: the records are written directly
        "method": {"name": "lora", **LORA},
        "train": {"epochs": 1, "batch_size": 8, "max_length": 512, "learning_rate": 1e-3,
                  "logging_steps": 1, "save_total_limit": 1,
                  "shared_context": shared_context},
    })


@torch.no_grad()
def heldout_loss(model: Any, tokenizer: Any, records: list[QARecord], config: RunConfig) -> float:
    """Completion-only cross-entropy over ``records``, token weighted, one record at a time."""
    model.eval()
    total, count = 0.0, 0
    for example in to_examples(records, config.guard):
        prompt = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True,
                                               tokenize=False)
        full = tokenizer.apply_chat_template(example["prompt"] + example["completion"],
                                             tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = tokenizer(full, add_special_tokens=False)["input_ids"][:512]
        labels = torch.tensor([ids])
        labels[0, : len(prompt_ids)] = -100
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        target = labels[0, 1:]
        keep = target != -100
        losses = torch.nn.functional.cross_entropy(logits[keep], target[keep], reduction="sum")
        total += float(losses)
        count += int(keep.sum())
    return total / max(count, 1)


def hand_tuned_trl(base: str, records: list[QARecord], config: RunConfig, out: Path,
                   heldout: list[QARecord]) -> dict[str, Any]:
    set_seed(config.seed)
    tokenizer = load_tokenizer(base)
    model = load_causal_lm(base, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
    args = SFTConfig(output_dir=str(out), per_device_train_batch_size=8, max_length=512,
                     num_train_epochs=1, learning_rate=1e-3, lr_scheduler_type="cosine",
                     warmup_steps=0.05, bf16=False, fp16=False, use_cpu=True,
                     gradient_checkpointing=False, completion_only_loss=True,
                     include_num_input_tokens_seen="non_padding", logging_steps=1,
                     save_strategy="no", report_to="none", disable_tqdm=True,
                     seed=config.seed)
    trainer = SFTTrainer(model=model, args=args,
                         train_dataset=Dataset.from_list(to_examples(records, config.guard)),
                         processing_class=tokenizer)
    output = trainer.train()
    runtime = float(output.metrics["train_runtime"])
    tokens = int(trainer.state.num_input_tokens_seen)
    return {"tokens": tokens, "computed_tokens": tokens, "seconds": runtime,
            "tokens_per_second": tokens / runtime, "train_loss": float(output.training_loss),
            "steps": trainer.state.global_step,
            "heldout_loss": heldout_loss(trainer.model, tokenizer, heldout, config)}


def tunesmith_path(base: str, records: list[QARecord], config: RunConfig, out: Path,
                   heldout: list[QARecord]) -> dict[str, Any]:
    data = out / "data"
    data.mkdir(parents=True)
    write_records(data / "train.jsonl", records)
    write_records(data / "val.jsonl", [])
    result = train_sft(config, base, data, out / "train")
    m = result.metrics
    runtime = float(m["train_runtime"])
    model = PeftModel.from_pretrained(load_causal_lm(base, dtype=torch.float32),
                                      str(result.adapter_dir))
    loss = heldout_loss(model, load_tokenizer(base), heldout, config)
    return {"heldout_loss": loss, "tokens": int(m["train_tokens"]),
            "computed_tokens": int(m.get("train_tokens_computed") or m["train_tokens"]),
            "seconds": runtime, "tokens_per_second": int(m["train_tokens"]) / runtime,
            "train_loss": float(m["train_loss"]), "steps": int(m["global_step"])
            if "global_step" in m else None, "reasons": result.reasons}


# key -> (label, function, run_config settings). The two extra rows tell the levers apart: TRL
# with another seed (the held-out loss's run-to-run spread from data order and LoRA's start),
# and tunesmith without shared-context packing (the same batches as TRL's length grouping).
PATHS: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "trl": ("hand-tuned TRL", hand_tuned_trl, {}),
    "trl-seed1": ("hand-tuned TRL, seed 1", hand_tuned_trl, {"seed": 1}),
    "tunesmith": ("tunesmith", tunesmith_path, {}),
    "tunesmith-unpacked": ("tunesmith, shared context off", tunesmith_path,
                           {"shared_context": False}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=96)
    parser.add_argument("--heldout", type=int, default=48)
    parser.add_argument("--paths", default="trl,tunesmith",
                        help="comma-separated, of: " + ", ".join(PATHS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, each path per seed")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "sft_vs_trl.json")
    args = parser.parse_args()
    unknown = sorted(set(args.paths.split(",")) - set(PATHS))
    if unknown or not {"trl", "tunesmith"} <= set(args.paths.split(",")):
        parser.error(f"--paths: {', '.join(unknown) or 'trl and tunesmith are needed'}; "
                     f"choose from {', '.join(PATHS)}")
    if not SAMPLE.exists():
        raise SystemExit(f"{SAMPLE}: the SQuAD 2.0 sample is missing")
    everything = import_squad(SAMPLE).records
    records = everything[: args.records]
    seen = {r.context for r in records}
    heldout = [r for r in everything[args.records:] if r.context not in seen][: args.heldout]
    base = str(resolve_gguf_model(ModelConfig(name=MODEL)))
    torch.set_num_threads(os.cpu_count() or 1)
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    seeds = [int(x) for x in args.seeds.split(",")]
    for repeat in range(args.repeats):
        for seed in seeds:
            for key in args.paths.split(","):
                name, fn, settings = PATHS[key]
                settings = {"seed": seed, **settings}
                with tempfile.TemporaryDirectory() as tmp:
                    result = fn(base, records, run_config(Path(tmp), **settings), Path(tmp),
                                heldout)
                result.update(path=name, repeat=repeat, seed=settings["seed"])
                rows.append(result)
                print(f"{name:16s} seed {settings['seed']} repeat {repeat}: "
                      f"{result['tokens_per_second']:7.1f} tokens/s "
                      f"({result['tokens']} tokens, {result['computed_tokens']} computed, "
                      f"{result['seconds']:.1f} s), train loss {result['train_loss']:.4f}, "
                      f"held-out loss {result['heldout_loss']:.4f}",
                      flush=True)
    others = {r["path"]: r for r in rows if r["path"] not in ("hand-tuned TRL", "tunesmith")}
    for label, row in others.items():
        print(f"  {label}: {row['tokens_per_second']:.1f} tokens/s, held-out loss "
              f"{row['heldout_loss']:.4f}")
    trl = [r for r in rows if r["path"] == "hand-tuned TRL"]
    ours = [r for r in rows if r["path"] == "tunesmith"]
    ratio = (sum(r["tokens_per_second"] for r in ours) / len(ours)) / \
        (sum(r["tokens_per_second"] for r in trl) / len(trl))
    def mean(rs: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in rs) / len(rs)

    loss_gap = abs(mean(ours, "train_loss") - mean(trl, "train_loss")) / mean(trl, "train_loss")
    final_gap = abs(mean(ours, "heldout_loss") - mean(trl, "heldout_loss")) / \
        mean(trl, "heldout_loss")
    spread = {label: (max(r["heldout_loss"] for r in rs) - min(r["heldout_loss"] for r in rs))
              / mean(rs, "heldout_loss") for label, rs in (("hand-tuned TRL", trl),
                                                           ("tunesmith", ours))}
    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "versions": {p: metadata.version(p) for p in ("torch", "transformers", "trl", "peft")},
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "records": len(records), "heldout_records": len(heldout), "repeats": args.repeats,
        "runs": rows, "speedup": ratio, "train_loss_gap": loss_gap,
        "heldout_loss_gap": final_gap, "seeds": seeds,
        "mean_heldout_loss": {"hand-tuned TRL": mean(trl, "heldout_loss"),
                              "tunesmith": mean(ours, "heldout_loss")},
        "heldout_loss_spread_over_seeds": spread,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"tunesmith / hand-tuned TRL: {ratio:.2f}x; final (held-out) loss, mean over seeds "
          f"{seeds}: TRL {mean(trl, 'heldout_loss'):.4f}, tunesmith "
          f"{mean(ours, 'heldout_loss'):.4f}, differs by "
          f"{100 * final_gap:.1f}% (each path's spread over the seeds: TRL "
          f"{100 * spread['hand-tuned TRL']:.1f}%, tunesmith {100 * spread['tunesmith']:.1f}%), "
          f"the epoch's mean training loss by "
          f"{100 * loss_gap:.1f}%; load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}; "
          f"written to {args.out}")


if __name__ == "__main__":
    main()
