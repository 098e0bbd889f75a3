"""Hyperparameters from the data size and the hardware, each with the rule that produced it.

The rules are the seed's ("How to set hyperparameters for fine-tuning?"). A value the user set
in ``tunesmith.yaml`` wins and is marked ``user``; a value left at ``auto`` is filled by its
rule (``plan``); a numeric default nobody set stays, and the rule's suggestion is shown beside
it (``default``). Pure functions: the data size and the hardware come in as arguments.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.memory import TrainSetup, estimate_memory

SMALL_DATA, LARGE_DATA = 5_000, 50_000  # seed: "Small Data (<5k)", "Large Data (>50k)"


@dataclass
class Decision:
    name: str
    value: Any
    source: str  # "user" | "plan" | "default"
    rule: str
    suggested: Any = None  # the rule's value where the user's or the default differs
    applied_to: str | None = None  # the config key that carries it; None: advice only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Hardware:
    device: str  # "cuda" | "cpu"
    memory_gib: float
    bf16: bool
    label: str = ""


def _between(n: int, small: float, large: float) -> float:
    """The seed gives values under 5k and over 50k; between them, interpolate in log(n)."""
    if n <= SMALL_DATA:
        return small
    if n >= LARGE_DATA:
        return large
    t = (math.log(n) - math.log(SMALL_DATA)) / (math.log(LARGE_DATA) - math.log(SMALL_DATA))
    return small + t * (large - small)


def dropout_for(n: int) -> float:
    """seed: dropout 0.3-0.5 under 5k, 0.1 over 50k. Under 5k: 0.5 at 500 examples (the seed's
    smallest useful dataset) down to 0.3 at 5k, in log(n)."""
    if n <= SMALL_DATA:
        t = min(max((math.log(max(n, 1)) - math.log(500)) / (math.log(SMALL_DATA) - math.log(500)),
                    0.0), 1.0)
        return round(0.5 - 0.2 * t, 3)
    return round(_between(n, 0.3, 0.1), 3)


def weight_decay_for(n: int) -> float:
    return round(_between(n, 0.01, 0.05), 4)  # seed: 0.01 (<5k), 0.05 (>50k)


def label_smoothing_for(n: int) -> float:
    return round(_between(n, 0.2, 0.1), 3)  # seed: 0.2 (<5k), 0.1 (>50k)


def epochs_for(n: int) -> int:
    return max(1, min(10, math.ceil(n / 1000)))  # seed: "1 epoch per 1k samples (max 10)"


def precision_for(hw: Hardware) -> tuple[str, str]:
    if hw.device == "cpu":
        return "fp32", "CPU: bf16/fp16 autocast is slower than fp32 here (train/hardware.py)"
    if hw.bf16:
        return "bf16", "seed: bf16 where supported"
    return "fp16", "seed: fp16 where bf16 is not supported"


def largest_batch(shape: ModelShape, setup: TrainSetup, memory_gib: float, cap: int,
                  headroom: float = 0.9) -> tuple[int, float]:
    """The largest power-of-two per-device batch (<= cap) whose estimated peak fits in
    ``headroom`` x memory; (0, peak at batch 1) if even one sequence does not fit."""
    best, best_peak = 0, estimate_memory(shape, _with(setup, batch_size=1)).peak
    b = 1
    while b <= cap:
        peak = estimate_memory(shape, _with(setup, batch_size=b)).peak
        if peak > headroom * memory_gib:
            break
        best, best_peak = b, peak
        b *= 2
    return best, best_peak


def _with(setup: TrainSetup, **changes: Any) -> TrainSetup:
    from dataclasses import replace

    return replace(setup, **changes)


def save_interval(epoch_steps: int) -> int:
    """Optimizer steps between checkpoints (the trainer uses this too)."""
    # seed: "Save interval: 1000 steps OR 0.3 epoch", whichever comes first
    return max(1, min(1000, round(0.3 * epoch_steps)))


def plan_hyperparameters(
    *,
    n_train: int,
    shape: ModelShape,
    setup: TrainSetup,
    hardware: Hardware,
    user: dict[str, Any],
    defaults: dict[str, Any],
    target_effective_batch: int,
    max_batch: int,
    method_default_lr: float,
    lr_found: float | None = None,
) -> list[Decision]:
    """Every hyperparameter the plan decides. ``user`` holds the values set in the config
    (``auto`` excluded); ``defaults`` the numeric defaults of keys left unset."""
    out: list[Decision] = []

    def decide(name: str, rule_value: Any, rule: str, key: str | None) -> Any:
        if name in user:
            d = Decision(name, user[name], "user", rule, suggested=rule_value, applied_to=key)
        elif name in defaults:
            d = Decision(name, defaults[name], "default", rule, suggested=rule_value,
                         applied_to=key)
        else:
            d = Decision(name, rule_value, "plan", rule, applied_to=key)
        out.append(d)
        return d.value

    decide("dropout", dropout_for(n_train),
           f"seed: dropout 0.3-0.5 under 5k examples, 0.1 over 50k ({n_train} examples)",
           "method.dropout")
    decide("weight_decay", weight_decay_for(n_train),
           "seed: weight decay 0.01 under 5k examples, 0.05 over 50k", "train.weight_decay")
    decide("label_smoothing", label_smoothing_for(n_train),
           "seed: label smoothing 0.2 under 5k examples, 0.1 over 50k (training loss only)",
           "train.label_smoothing")
    epochs = decide("epochs", epochs_for(n_train),
                    "seed: 1 epoch per 1k samples, at most 10", "train.epochs")
    decide("early_stopping_patience", 4,
           "seed: patience=4 epochs (validation loss scored at every checkpoint)",
           "train.early_stopping_patience")
    decide("early_stopping_min_delta", 0.005, "seed: min_delta=0.005",
           "train.early_stopping_min_delta")
    decide("max_grad_norm", 1.0, "seed: clip norms global_norm=1.0", "train.max_grad_norm")
    precision, why = precision_for(hardware)
    precision = decide("precision", precision, why, "train.precision")
    checkpointing = decide(
        "gradient_checkpointing", hardware.device == "cuda",
        "on for a GPU (seed: 65% VRAM reduction); off on CPU, where it only costs time",
        "train.gradient_checkpointing")
    sized = _with(setup, precision=precision if precision != "auto" else setup.precision,
                  gradient_checkpointing=bool(checkpointing is True))
    cap = min(max_batch, target_effective_batch)
    fits, peak = largest_batch(shape, sized, hardware.memory_gib, cap)
    batch_rule = (f"largest power of two <= {cap} whose estimated peak ({peak:.2f} GiB) fits in "
                  f"90% of {hardware.memory_gib:.1f} GiB ({hardware.label or hardware.device})")
    if fits == 0:
        batch_rule = (f"even batch 1 needs ~{peak:.1f} GiB, over 90% of {hardware.memory_gib:.1f}"
                      " GiB: see `tunesmith estimate` for offload/ZeRO/QLoRA options")
    batch = decide("batch_size", max(fits, 1), batch_rule, "train.batch_size")
    accumulation = decide(
        "gradient_accumulation_steps", max(1, math.ceil(target_effective_batch / int(batch))),
        f"seed: steps = desired batch ({target_effective_batch}) / per-device batch",
        "train.gradient_accumulation_steps")
    if lr_found is not None:
        decide("learning_rate", lr_found, "lr-find: half the divergence point (Smith 2017)",
               "train.learning_rate")
    else:
        decide("learning_rate", method_default_lr,
               "no lr-find result yet: the method's usual peak rate (run `tunesmith lr-find`)",
               "train.learning_rate")
    # the batch and accumulation the run will use (a user's values included)
    steps_per_epoch = max(1, math.ceil(n_train / (int(batch) * max(1, int(accumulation)))))
    decide("save_steps", save_interval(steps_per_epoch),
           "seed: save every 1000 steps or 0.3 epoch, whichever comes first (the trainer "
           "computes it the same way; with early stopping it also scores the validation "
           "loss there)", None)
    _ = epochs
    return out


def default_learning_rate(method_kind: str) -> float:
    """Common starting peaks: 2e-4 for adapters (QLoRA paper, 7B-65B), 1e-4 (the seed's
    cyclical peak) for full and selective training, 3e-2 for soft prompts (Lester 2021: 0.3
    with Adafactor; AdamW needs less)."""
    return {"full": 1e-4, "freeze": 1e-4, "prompt": 3e-2}.get(method_kind, 2e-4)
