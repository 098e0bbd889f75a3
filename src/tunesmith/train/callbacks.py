"""Trainer callbacks: a Rich progress bar and a ``metrics.jsonl`` kept current on every log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.utils.io import write_jsonl_atomic
from tunesmith.utils.progress import make_progress

__all__ = ["MetricsFileCallback", "RichProgressCallback", "make_progress"]


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
