"""Decaying old-task weighting: the seed's curriculum strategy ("Joint training with decaying
old-task weighting: λ = 0.5 → λ = 0.1 over epochs"), applied to the EWC term.

The weight falls linearly with training progress (the share of planned optimizer steps done),
so a one-epoch run decays within its epoch and a three-epoch run reaches ``end`` at the end of
the third. Early steps, when the task gradient is largest and the weights move most, are held
back hardest; later steps are freer to fit the task.

Why EWC and not replay: replayed examples join the training split and share TRL's one loss with
the task examples (``train_sft`` is left as it is), so they have no weight of their own to
decay; EWC's penalty is one scalar term, and it stands for the old task's loss (its quadratic
approximation), which is what the seed's "old-task weight" weighs.
"""

from __future__ import annotations

from typing import Any, Protocol

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class Weighted(Protocol):
    weight: float


def old_task_weight(progress: float, start: float, end: float) -> float:
    """The weight at ``progress`` (0 at the first step, 1 at the last), linear, clamped."""
    progress = min(1.0, max(0.0, progress))
    return start + (end - start) * progress


class CurriculumCallback(TrainerCallback):
    """Sets ``term.weight`` before every optimizer step from the steps done so far."""

    def __init__(self, term: Weighted, start: float, end: float):
        self.term = term
        self.start = start
        self.end = end
        self.term.weight = start

    def on_step_begin(self, args: TrainingArguments, state: TrainerState,
                      control: TrainerControl, **kwargs: Any) -> None:
        last = max(1, state.max_steps - 1)
        self.term.weight = old_task_weight(state.global_step / last, self.start, self.end)

    def summary(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "final_weight": self.term.weight}
