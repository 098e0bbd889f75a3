"""Supervised fine-tuning with LoRA: PEFT for the adapter, TRL's SFTTrainer for the loop.

Read top to bottom: format the records, choose precision from the hardware, wrap the model,
train with an eval loss each epoch and checkpoints along the way (resuming from the last one),
then save the adapter in PEFT format so ``PeftModel.from_pretrained(base, path)`` loads it.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset
from peft import LoraConfig
from rich.console import Console
from transformers.trainer_callback import PrinterCallback
from trl import SFTConfig, SFTTrainer

from tunesmith.compat.transformers import checkpointing_kwargs
from tunesmith.config import RunConfig
from tunesmith.data.schema import read_records
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.train.callbacks import MetricsFileCallback, RichProgressCallback
from tunesmith.train.format import to_examples
from tunesmith.train.hardware import HardwareChoice, choose_hardware
from tunesmith.utils.hashing import sha256_json
from tunesmith.utils.io import write_json_atomic


@dataclass
class TrainResult:
    adapter_dir: Path
    metrics: dict[str, Any]
    hardware: HardwareChoice
    resumed_from: str | None


def lora_config(config: RunConfig) -> LoraConfig:
    method = config.method
    return LoraConfig(
        r=method.r,
        lora_alpha=method.alpha,
        lora_dropout=method.dropout,
        target_modules=method.target_modules,
        task_type="CAUSAL_LM",
    )


def _steps_per_epoch(n_examples: int, config: RunConfig) -> int:
    per_step = config.train.batch_size * config.train.gradient_accumulation_steps
    return max(1, math.ceil(n_examples / per_step))


def _prepare_checkpoints(checkpoint_dir: Path, fingerprint: str) -> str | None:
    """The checkpoint to resume from, if it was made by the same inputs; else start clean."""
    marker = checkpoint_dir / "fingerprint.json"
    if checkpoint_dir.exists():
        same = _read_fingerprint(marker) == fingerprint
        if not same:
            shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(marker, {"fingerprint": fingerprint})
    return last_complete_checkpoint(checkpoint_dir)


def last_complete_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest checkpoint that was fully written; half-written ones are removed.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer and RNG states, so a
    run killed while saving leaves a newest folder without it: resuming from that one fails.
    """
    def step(path: Path) -> int:
        return int(path.name.rsplit("-", 1)[1]) if path.name.rsplit("-", 1)[1].isdigit() else -1

    for folder in sorted(checkpoint_dir.glob("checkpoint-*"), key=step, reverse=True):
        if (folder / "trainer_state.json").is_file():
            return str(folder)
        shutil.rmtree(folder)
    return None


def _read_fingerprint(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def train_sft(
    config: RunConfig,
    base_model: str,
    data_dir: Path,
    out_dir: Path,
    console: Console | None = None,
) -> TrainResult:
    train_records = read_records(data_dir / "train.jsonl")
    val_records = read_records(data_dir / "val.jsonl")
    if not train_records:
        raise ValueError(f"{data_dir / 'train.jsonl'}: no training records")
    hardware = choose_hardware(config.train)

    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)
    model = load_causal_lm(base_model, dtype=hardware.torch_dtype, revision=config.model.revision,
                           trust_remote_code=config.model.trust_remote_code)

    train_ds = Dataset.from_list(to_examples(train_records, config.guard))
    eval_ds = Dataset.from_list(to_examples(val_records, config.guard)) if val_records else None

    t = config.train
    steps_per_epoch = _steps_per_epoch(len(train_ds), config)
    # seed: "Save interval: 1000 steps OR 0.3 epoch", whichever comes first
    save_steps = max(1, min(1000, round(0.3 * steps_per_epoch)))
    checkpoint_dir = out_dir / "checkpoints"
    fingerprint = sha256_json({
        "config": config.model_dump(include={"model", "method", "train", "guard", "seed"}),
        "base_model": base_model,
        "data": [r.id for r in train_records],
    })
    resume = _prepare_checkpoints(checkpoint_dir, fingerprint)

    args = SFTConfig(
        output_dir=str(checkpoint_dir),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        learning_rate=t.learning_rate,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        max_length=t.max_length,
        bf16=hardware.precision == "bf16",
        fp16=hardware.precision == "fp16",
        use_cpu=hardware.device == "cpu",
        **checkpointing_kwargs(hardware.gradient_checkpointing),
        packing=False,  # measured slower on CPU (DEVELOPERS.md: 203 vs 459 tokens/s)
        eval_strategy="epoch" if eval_ds is not None else "no",
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=min(t.logging_steps, steps_per_epoch),
        logging_first_step=True,
        report_to="none",
        disable_tqdm=True,
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=lora_config(config),
        callbacks=[RichProgressCallback("fine-tuning", console),
                   MetricsFileCallback(out_dir / "metrics.jsonl")],
    )
    trainer.remove_callback(PrinterCallback)  # our bar and metrics.jsonl report the logs
    if console is not None and resume:
        console.print(f"resuming from {resume}")
    output = trainer.train(resume_from_checkpoint=resume)
    metrics: dict[str, Any] = dict(output.metrics)
    if eval_ds is not None:
        metrics.update(trainer.evaluate())
    MetricsFileCallback(out_dir / "metrics.jsonl").on_log(
        args, trainer.state, trainer.control, logs=metrics
    )

    adapter_dir = out_dir / "adapter"
    _save_atomically(trainer, tokenizer, adapter_dir)
    return TrainResult(adapter_dir, metrics, hardware, resume)


def _save_atomically(trainer: SFTTrainer, tokenizer: Any, adapter_dir: Path) -> None:
    """Save into a temporary sibling, then swap it into place."""
    adapter_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=adapter_dir.parent))
    model: Any = trainer.model
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    tmp.rename(adapter_dir)
