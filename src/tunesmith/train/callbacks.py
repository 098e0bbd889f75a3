"""Trainer callbacks: a Rich progress bar, a ``metrics.jsonl`` kept current on every log, the
method's step hooks, and the end-of-epoch checkpoint written after the epoch's evaluation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.utils.io import write_jsonl_atomic
from tunesmith.utils.progress import make_progress

__all__ = ["MetricsFileCallback", "RichProgressCallback", "SaveAfterEpochEvaluation",
           "StepHooksCallback", "make_progress"]


class RichProgressCallback(TrainerCallback):
    """Replaces the Trainer's tqdm bar: steps done, the latest loss, time left."""

    def __init__(self, description: str = "training", console: Console | None = None):
        self.description = description
        self.console = console
        self._progress: Progress | None = None
        self._task: Any = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState,
                       control: TrainerControl, **kwargs: Any) -> None:
        if not state.is_world_process_zero:  # one bar for a multi-process run
            return
        self._progress = make_progress(self.console)
        self._progress.start()
        self._task = self._progress.add_task(
            self.description, total=state.max_steps, completed=state.global_step, info=""
        )

    def on_step_end(self, args: TrainingArguments, state: TrainerState,
                    control: TrainerControl, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if self._progress is None or not logs:
            return
        parts = [f"{k} {logs[k]:.4f}" for k in ("loss", "eval_loss") if k in logs]
        if parts:
            self._progress.update(self._task, info=" ".join(parts))

    def on_train_end(self, args: TrainingArguments, state: TrainerState,
                     control: TrainerControl, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class MetricsFileCallback(TrainerCallback):
    """Rewrites ``metrics.jsonl`` (atomically) from the log history on every log event.

    The history is the Trainer's own, restored from a checkpoint on resume, so the file holds
    the whole run even after an interruption.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            write_jsonl_atomic(self.path, state.log_history)


class SaveAfterEpochEvaluation(TrainerCallback):
    """A checkpoint due at an epoch's last step is written after that epoch's evaluation.

    The Trainer saves at the step's end, then evaluates at the epoch's end: a run resumed from
    that checkpoint skipped the evaluation (one eval row fewer in metrics.jsonl) and restored
    the RNG state from before it, so its weights differed from an uninterrupted run's in the
    last bits (measured: 5.582129 against 5.582161 train loss; mid-epoch checkpoints matched).
    """

    def __init__(self) -> None:
        self.deferred = False

    def on_step_end(self, args: TrainingArguments, state: TrainerState,
                    control: TrainerControl, **kwargs: Any) -> None:
        epoch_end = state.epoch is not None and float(state.epoch).is_integer()
        if control.should_save and epoch_end and args.eval_strategy == "epoch":
            control.should_save, self.deferred = False, True

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState,
                     control: TrainerControl, **kwargs: Any) -> None:
        if self.deferred:  # the epoch's evaluation runs first, in the same call
            control.should_save, self.deferred = True, False


class StepHooksCallback(TrainerCallback):
    """Calls the method's step hooks after each optimizer step, before ``zero_grad``
    (the Trainer's ``on_optimizer_step`` event sits exactly there)."""

    def __init__(self, hooks: list[Callable[[int], None]]):
        self.hooks = hooks

    def on_optimizer_step(self, args: TrainingArguments, state: TrainerState,
                          control: TrainerControl, **kwargs: Any) -> None:
        for hook in self.hooks:
            hook(state.global_step)
