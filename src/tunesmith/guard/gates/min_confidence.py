"""The ``min_confidence`` gate: lowest softmax probability among the answer's tokens."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class MinConfidenceGate(Gate):
    def value(self, s: Signals) -> float | None:
        return min(s.token_probs) if s.token_probs else None


register_gate(MinConfidenceGate(
    "min_confidence", "lowest softmax probability among the answer's tokens",
    0.75, "below", "seed: \"Discard responses when softmax probability <0.75\"",
    tasks=("causal_lm",), rank=60))
