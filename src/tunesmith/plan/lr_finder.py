"""The learning-rate range test (Smith, 2017, "Cyclical Learning Rates for Training Neural
Networks", §3.3): raise the rate exponentially, one optimizer step each, until the loss
diverges. The seed's rule: the optimal rate is half the point where the loss spikes.
Also reported: the steepest-descent point (where the smoothed loss falls fastest per decade).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.config.auto import or_default
from tunesmith.data.schema import read_records
from tunesmith.errors import TunesmithError
from tunesmith.plan.schedules import SCHEDULES, curve
from tunesmith.utils.io import atomic_open, write_json_atomic
from tunesmith.utils.layout import RunLayout

SPIKE = 1.1  # the loss "spikes" once it is 10% above its minimum again


@dataclass
class LrFindResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    divergence_lr: float | None = None
    steepest_lr: float | None = None
    min_loss_lr: float | None = None
    suggested_lr: float | None = None
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_range_test(step: Callable[[float], float], start_lr: float = 1e-7, end_lr: float = 1.0,
                  steps: int = 100, diverge_factor: float = 4.0,
                  smoothing: float = 0.9) -> LrFindResult:
    """Call ``step(lr)`` (one optimizer step at ``lr``; returns the loss) for exponentially
    increasing rates; stop when the smoothed loss passes ``diverge_factor`` x its minimum or
    is not finite."""
    if not 0 < start_lr < end_lr:
        raise TunesmithError(f"lr-find: need 0 < start_lr ({start_lr}) < end_lr ({end_lr})")
    ratio = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
    result = LrFindResult()
    avg, best = 0.0, math.inf
    for i in range(steps):
        lr = start_lr * ratio**i
        loss = step(lr)
        result.lrs.append(lr)
        result.losses.append(loss)
        if not math.isfinite(loss):
            result.divergence_lr = lr
            break
        avg = smoothing * avg + (1 - smoothing) * loss
        smooth = avg / (1 - smoothing ** (i + 1))  # bias-corrected, as in fastai
        result.smoothed.append(smooth)
        best = min(best, smooth)
        if i > 5 and smooth > diverge_factor * best:
            result.divergence_lr = lr
            break
    finite = [(lr, s) for lr, s in zip(result.lrs, result.smoothed, strict=False)]
    if finite:
        i_min = min(range(len(finite)), key=lambda k: finite[k][1])
        result.min_loss_lr = finite[i_min][0]
        # the moving average needs about w = 1 / (1 - smoothing) losses before it means
        # anything, and batch noise survives it as wiggles from one step to the next: the slope
        # is taken over w steps, from the w-th loss on (consecutive points put the "steepest
        # descent" at 1.2e-7 on the quickstart, where one lucky batch fell)
        w = max(1, math.ceil(1 / (1 - smoothing))) if smoothing > 0 else 1
        w = min(w, max(i_min // 2, 1))
        slopes = {k: (finite[k + w][1] - finite[k][1])
                  / (math.log10(finite[k + w][0]) - math.log10(finite[k][0]))
                  for k in range(w if w > 1 else 0, max(i_min - w + 1, 1))
                  if k + w < len(finite)}
        if slopes:
            k = min(slopes, key=lambda j: slopes[j])
            result.steepest_lr = finite[k + w // 2][0]
        # the spike: the first rate past the minimum whose smoothed loss is 10% above it
        spike = next((lr for lr, s in finite[i_min:] if s > SPIKE * finite[i_min][1]), None)
        if spike is not None and (result.divergence_lr is None or spike < result.divergence_lr):
            result.divergence_lr = spike
    if result.divergence_lr is not None:
        result.suggested_lr = 0.5 * result.divergence_lr
        result.rule = "seed: half the point where the loss spikes (Smith 2017)"
    elif result.min_loss_lr is not None:
        result.suggested_lr = 0.5 * result.min_loss_lr
        result.rule = (f"the loss never diverged up to {end_lr:g}: half the rate of the "
                       "lowest loss")
    return result


def plot(result: LrFindResult, path: Path, peak_steps: int = 200) -> None:
    """Loss against rate (log axis) with the three points, and the schedules at the
    suggested rate, each with 5% warmup."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax.plot(result.lrs[: len(result.smoothed)], result.smoothed, label="smoothed loss")
    ax.plot(result.lrs, result.losses, alpha=0.3, label="loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    for lr, label, style in ((result.divergence_lr, "divergence", "r--"),
                             (result.suggested_lr, "suggested", "g-"),
                             (result.steepest_lr, "steepest descent", "b:")):
        if lr:
            ax.axvline(lr, linestyle=style[1:], color=style[0], label=f"{label}: {lr:.2e}")
    ax.legend(fontsize=8)
    ax.set_title(f"learning-rate range test\n{result.rule}", fontsize=9)
    peak = result.suggested_lr or 1e-4
    for kind in SCHEDULES:
        ax2.plot(curve(kind, peak, peak_steps, peak_steps // 20), label=kind)
    ax2.set_xlabel("step")
    ax2.set_ylabel("learning rate")
    ax2.set_title("schedules at the suggested peak (5% warmup)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)


def run_lr_find(config: RunConfig, base_model: str, console: Console | None = None
                ) -> LrFindResult:
    """The range test on the run's training split, the model prepared by its method."""
    from rich.progress import Progress

    # deferred: importing these loads torch, transformers
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.plan.steps import Stepper, batches, prepare_model, tokenize_records

    lf = config.plan.lr_find
    run_dir = config.run_dir
    layout = RunLayout(run_dir)
    records = read_records(layout.train_jsonl)
    tokenizer = load_tokenizer(base_model)
    examples = tokenize_records(records, config, tokenizer, config.train.max_length)
    if not examples:
        raise TunesmithError(f"{layout.train_jsonl}: no training examples")
    import torch

    torch.manual_seed(config.seed)
    model, method = prepare_model(load_causal_lm(base_model), config.method.name,
                                  config.method.options, total_steps=lf.steps,
                                  tokenizer_path=base_model)
    stepper = Stepper(model, method, learning_rate=lf.start_lr,
                      max_grad_norm=config.train.max_grad_norm)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # lr-find runs before the plan: a batch size left at 'auto' takes its default here
    batch_size = min(or_default(config.train, "batch_size"), len(examples))

    def stream() -> Any:
        epoch = 0
        while True:
            yield from batches(examples, batch_size, pad, seed=config.seed + epoch)
            epoch += 1

    feed = stream()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("lr-find", total=lf.steps)

        def step(lr: float) -> float:
            stepper.set_lr(lr)
            progress.advance(task)
            return stepper.step(next(feed))

        result = lr_range_test(step, lf.start_lr, lf.end_lr, lf.steps, lf.diverge_factor,
                               lf.smoothing)
    write_json_atomic(layout.lr_find_json, result.to_dict())
    plot(result, layout.lr_find_png)
    return result
