"""The ``perplexity`` gate: perplexity of the generated answer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class PerplexityGate(Gate):
    def value(self, s: Signals) -> float | None:
        if not s.token_probs:
            return None
        nll = -sum(math.log(max(p, 1e-12)) for p in s.token_probs) / len(s.token_probs)
        return math.exp(min(nll, 50.0))


register_gate(PerplexityGate(
    "perplexity", "perplexity of the generated answer",
    150.0, "above", "seed: \"Block outputs with high token uncertainty (>150 perplexity)\"",
    tasks=("causal_lm",), rank=70))
