"""``plan:`` the hardware to plan for, the target batch, the learning-rate range test and the
Optuna search space (``tunesmith plan | lr-find | search | estimate``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tunesmith.config.auto import Auto
from tunesmith.config.base import Section


class SearchParam(Section):
    """One dimension of the search: a range (``low``/``high``, ``log``) or ``choices``."""

    low: float | None = Field(None, description="Lower bound of a numeric range.")
    high: float | None = Field(None, description="Upper bound of a numeric range.")
    log: bool = Field(False, description="Sample the range on a log scale.")
    integer: bool = Field(False, description="Sample integers from the range.")
    choices: list[Any] | None = Field(None, description="Sample one of these values.")

    @model_validator(mode="after")
    def _range_or_choices(self) -> SearchParam:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices must not be empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give either choices: [...] or both low and high")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


def _default_space() -> dict[str, SearchParam]:
    # seed: "optuna.study(lr: [1e-5, 3e-5, 1e-4], batch_size: [4, 8, 16])", widened to a
    # log range so that small models (which want larger rates) are covered too
    return {
        "train.learning_rate": SearchParam(low=1e-5, high=1e-2, log=True),
        "train.batch_size": SearchParam(choices=[4, 8, 16]),
        "method.r": SearchParam(choices=[4, 8, 16, 32]),
        "method.dropout": SearchParam(low=0.0, high=0.3),
    }


class SearchConfig(Section):
    """``tunesmith search``: Optuna TPE with pruning, stored in SQLite so a search resumes."""

    trials: int = Field(20, ge=1, description="Trials in total (a resumed search counts the "
                        "finished ones). seed: 100 trials with TPE.")
    epochs: int = Field(1, ge=1, description="Epochs per trial; the validation loss after each "
                        "one is reported to the pruner.")
    max_steps_per_epoch: int | None = Field(
        None, ge=1, description="Cap the optimizer steps of one trial's epoch (quick searches).")
    max_train_examples: int | None = Field(
        None, ge=1, description="Train each trial on at most this many examples.")
    space: dict[str, SearchParam] = Field(
        default_factory=_default_space,
        description="Dotted config key -> range or choices. Keys of the method that the "
        "configured method does not have are skipped.")
    pruner: str = Field("median", pattern="^(median|none)$",
                        description="'median': stop a trial whose intermediate validation loss "
                        "is worse than the median of earlier trials at the same epoch.")


class LrFindConfig(Section):
    """``tunesmith lr-find``: the learning-rate range test (Smith, 2017)."""

    # seed: "Exponentially increase LR from 1e-7 until loss spikes"
    start_lr: float = Field(1e-7, gt=0, description="First learning rate of the sweep.")
    end_lr: float = Field(1.0, gt=0, description="Last learning rate, if the loss never spikes.")
    steps: int = Field(100, ge=10, description="Optimizer steps in the sweep.")
    diverge_factor: float = Field(
        4.0, gt=1, description="Stop when the smoothed loss exceeds this multiple of its minimum.")
    smoothing: float = Field(0.9, ge=0, lt=1, description="Exponential smoothing of the loss.")


class PlanConfig(Section):
    """What the planner plans for, and how it searches."""

    hardware: Auto[str] = Field(
        "auto", description="'auto': this machine (its GPU, or the CPU); or a GPU from the "
        "catalog (a100-80gb, h100, rtx4090, ...: `tunesmith estimate --help`) to plan for.")
    gpus: int = Field(1, ge=1, description="GPUs to plan for.")
    distributed: Auto[Literal["ddp", "zero2", "zero3", "fsdp"]] = Field(
        "auto", description="How `tunesmith train --nproc N` spreads training over processes: "
        "'ddp' (torchrun; gloo on a CPU), 'zero2'/'zero3' (DeepSpeed) or 'fsdp' (through "
        "accelerate launch and the planner's config files); 'auto': DDP on a CPU, else the "
        "first strategy whose per-GPU memory estimate fits (`tunesmith estimate`).")
    target_effective_batch: int = Field(
        16, ge=1, description="Examples per optimizer step; gradient accumulation makes up "
        "what the per-device batch cannot hold (seed: batch 2 x accumulation 8).")
    max_batch_size: int = Field(32, ge=1, description="Largest per-device batch considered.")
    utilisation: float = Field(0.4, gt=0, le=1, description="Share of the accelerator's peak "
                               "FLOPs reached (seed: util 0.4).")
    gpu_catalog: str | None = Field(None, description="A YAML file with the GPU catalog's keys "
                                    "(edited prices); default: the packaged catalog.")
    lr_find: LrFindConfig = Field(default_factory=LrFindConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
