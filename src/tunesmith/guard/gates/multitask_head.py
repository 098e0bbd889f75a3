"""The ``multitask_head`` gate: P(unanswerable) from the causal LM's own answerability head
(multitask training)."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class MultitaskHeadGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.extras.get("multitask_p_unanswerable")


register_gate(MultitaskHeadGate(
    "multitask_head", "P(unanswerable) from the causal LM's own answerability head (multitask)",
    0.5, "above", "seed: \"Multi-task learning: Jointly train for question answering and "
    "answerability classification\"",
    tasks=("causal_lm",), rank=30))
