"""The ``null_score`` gate: extractive QA: null ([CLS]) score minus the best span score."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class NullScoreGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.null_diff


register_gate(NullScoreGate(
    "null_score", "extractive QA: null ([CLS]) score minus the best span score",
    0.0, "above", "SQuAD 2.0: answer when the best span beats the null score",
    tasks=("extractive_qa",), rank=10))
