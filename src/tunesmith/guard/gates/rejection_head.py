"""The ``rejection_head`` gate: P(unanswerable) from the rejection head (an encoder classifier)."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class RejectionHeadGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.p_unanswerable

    def applies(self, task: str, has_rejection_head: bool) -> bool:
        return has_rejection_head or task == "answerability"  # the head is the answerability model


register_gate(RejectionHeadGate(
    "rejection_head", "P(unanswerable) from the rejection head (an encoder classifier)",
    0.5, "above", "seed: \"Add rejection head: Secondary classifier predicting answerability\"",
    rank=20))
