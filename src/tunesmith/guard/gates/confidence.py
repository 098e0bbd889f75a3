"""The ``confidence`` gate: mean softmax probability of the answer's tokens (a span's:
P(start)·P(end))."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class MeanConfidenceGate(Gate):
    def value(self, s: Signals) -> float | None:
        if s.token_probs:
            return sum(s.token_probs) / len(s.token_probs)
        return s.span_prob


register_gate(MeanConfidenceGate(
    "confidence", "mean softmax probability of the answer's tokens (span: P(start)·P(end))",
    0.75, "below", "seed: \"Discard responses when softmax probability <0.75\"",
    tasks=("causal_lm", "extractive_qa"), rank=50))
