"""The ``context_length`` gate: characters of context per word of question."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, question_words, register_gate


@dataclass(frozen=True)
class ContextLengthGate(Gate):
    def value(self, s: Signals) -> float | None:
        words = max(1, question_words(s.question))
        return len(s.context.strip()) / words


register_gate(ContextLengthGate(
    "context_length", "characters of context per word of question",
    # the seed names the rule without a number; 10 characters per question word is a floor
    # well below any real paragraph (a SQuAD paragraph has ~70 per word of its question)
    10.0, "below", "seed: \"Require minimum context characters per word in question\"",
    rank=100))
