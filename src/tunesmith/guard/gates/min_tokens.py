"""The ``min_tokens`` gate: words in the answer to a complex (why/how/long) question."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import WORDS, Gate, Signals, is_complex, register_gate


@dataclass(frozen=True)
class MinTokensGate(Gate):
    def value(self, s: Signals) -> float | None:
        if not s.answer.strip() or not is_complex(s.question):
            return None  # only complex questions need a substantial answer
        return float(len(WORDS.findall(s.answer)))


MIN_TOKENS = register_gate(MinTokensGate(
    "min_tokens", "words in the answer to a complex (why/how/long) question",
    5.0, "below",
    "seed: \"Return INSUFFICIENT_CONTEXT for answers <5 tokens to complex queries\"",
    rank=90))

INSUFFICIENT_CONTEXT = "INSUFFICIENT_CONTEXT"  # seed: minimal token enforcement's answer
