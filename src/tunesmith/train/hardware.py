"""Choose precision and gradient checkpointing from the hardware, and say why.

Measured on a 2-core AVX2 CPU without native bf16 (docs/benchmarks.md, from
bench/bench_sft_precision.py): LoRA SFT of a small LLaMA ran at 98 tokens/s with TRL's
defaults (bf16 autocast + gradient checkpointing) against 4,125 tokens/s in fp32 without
checkpointing. Checkpointing trades compute for memory, which only pays on a GPU whose memory
is the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from transformers import EarlyStoppingCallback, TrainerCallback

from tunesmith.config import TrainConfig
from tunesmith.config.auto import is_auto, resolved
from tunesmith.plan.hparams import save_interval
from tunesmith.utils.dist import world_size

Precision = Literal["fp32", "fp16", "bf16"]


@dataclass(frozen=True)
class HardwareChoice:
    device: str
    precision: Precision
    gradient_checkpointing: bool
    reasons: tuple[str, ...]

    @property
    def torch_dtype(self) -> torch.dtype:
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[
            self.precision
        ]


def choose_hardware(train: TrainConfig) -> HardwareChoice:
    cuda = torch.cuda.is_available()
    reasons: list[str] = []
    if not is_auto(train.precision):
        precision: Precision = train.precision
        reasons.append(f"precision {precision}: set in the config")
    elif cuda and torch.cuda.is_bf16_supported():
        precision = "bf16"
        reasons.append("precision bf16: the GPU supports it (seed: bf16 where supported)")
    elif cuda:
        precision = "fp16"
        reasons.append("precision fp16: the GPU lacks bf16")
    else:
        precision = "fp32"
        reasons.append("precision fp32: on CPU, bf16/fp16 autocast is slower than fp32")
    if not is_auto(train.gradient_checkpointing):
        checkpointing = bool(train.gradient_checkpointing)
        reasons.append(f"gradient checkpointing {'on' if checkpointing else 'off'}: set")
    else:
        checkpointing = cuda
        reasons.append(
            "gradient checkpointing on: saves GPU memory"
            if cuda
            else "gradient checkpointing off: on CPU it costs time and saves nothing needed"
        )
    return HardwareChoice("cuda" if cuda else "cpu", precision, checkpointing, tuple(reasons))


def steps_per_epoch(n_examples: int, train: TrainConfig) -> int:
    """Optimizer steps in one pass over ``n_examples``: each step takes ``batch_size`` x
    accumulation examples on every process of the run (``tunesmith train --nproc``)."""
    per_step = (resolved(train.batch_size, "train.batch_size")
                * resolved(train.gradient_accumulation_steps, "train.gradient_accumulation_steps")
                * world_size())
    return max(1, math.ceil(n_examples / per_step))


def shared_training_kwargs(train: TrainConfig, hardware: HardwareChoice, seed: int,
                           n_examples: int) -> dict[str, Any]:
    """The ``TrainingArguments`` every tunesmith workflow (SFT, encoders) takes the same way:
    batch, schedule, clipping, precision from the hardware choice, logging and seeds."""
    return {
        "per_device_train_batch_size": resolved(train.batch_size, "train.batch_size"),
        "gradient_accumulation_steps": resolved(train.gradient_accumulation_steps,
                                                "train.gradient_accumulation_steps"),
        "lr_scheduler_type": train.lr_scheduler,
        "warmup_steps": train.warmup_ratio,
        "weight_decay": resolved(train.weight_decay, "train.weight_decay"),
        "max_grad_norm": train.max_grad_norm,
        "bf16": hardware.precision == "bf16",
        "fp16": hardware.precision == "fp16",
        "use_cpu": hardware.device == "cpu",
        "logging_steps": min(train.logging_steps, steps_per_epoch(n_examples, train)),
        "logging_first_step": True,
        "report_to": "none",
        "disable_tqdm": True,
        "seed": seed,
        "data_seed": seed,
        "dataloader_num_workers": 0,
    }


def save_steps(n_examples: int, train: TrainConfig) -> int:
    """Steps between checkpoints: the plan's rule (seed: 1000 steps or 0.3 epoch)."""
    return save_interval(steps_per_epoch(n_examples, train))


@dataclass(frozen=True)
class EvaluationPlan:
    """When the workflows evaluate and save, and the early-stopping callback if it is on.

    Without early stopping: the validation split is scored once per epoch and checkpoints are
    written every ``save_steps``. With it, the validation split is scored at every checkpoint
    (``load_best_model_at_end`` needs a score for each saved checkpoint to pick the best one),
    and ``train.early_stopping_patience``, which counts epochs as the seed does ("patience=4
    epochs"), becomes the number of those evaluations: patience x evaluations per epoch.
    """

    kwargs: dict[str, Any]
    callbacks: list[TrainerCallback] = field(default_factory=list)
    reasons: tuple[str, ...] = ()
    patience_evaluations: int | None = None


def evaluation_plan(train: TrainConfig, n_examples: int, has_eval: bool,
                    checkpoints: bool = True) -> EvaluationPlan:
    """``TrainingArguments`` for evaluation, checkpoints and early stopping (``checkpoints``:
    whether the workflow keeps checkpoints at all; early stopping makes it keep them, since the
    best one is restored at the end)."""
    every = save_steps(n_examples, train)
    saving: dict[str, Any] = {"save_strategy": "steps", "save_steps": every,
                              "save_total_limit": train.save_total_limit}
    patience = resolved(train.early_stopping_patience, "train.early_stopping_patience")
    min_delta = resolved(train.early_stopping_min_delta, "train.early_stopping_min_delta")
    if patience is None or not has_eval:
        kwargs = {"eval_strategy": "epoch" if has_eval else "no",
                  **(saving if checkpoints else {"save_strategy": "no"})}
        why = () if patience is None else (
            "early stopping off: there is no validation split to watch",)
        return EvaluationPlan(kwargs, reasons=why)
    per_epoch = steps_per_epoch(n_examples, train) / every
    evaluations = max(1, math.ceil(patience * per_epoch - 1e-9))
    callback = EarlyStoppingCallback(early_stopping_patience=evaluations,
                                     early_stopping_threshold=min_delta)
    return EvaluationPlan(
        {"eval_strategy": "steps", "eval_steps": every, **saving,
         "load_best_model_at_end": True, "metric_for_best_model": "eval_loss",
         "greater_is_better": False,
         # a resumed run keeps counting evaluations without improvement where it stopped
         "restore_callback_states_from_checkpoint": True},
        [callback],
        (f"early stopping: patience {patience:g} epoch(s) = {evaluations} evaluation(s) "
         f"(every {every} steps), min_delta {min_delta:g}; the best "
         "checkpoint is restored at the end",),
        evaluations)
