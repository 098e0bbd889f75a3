"""The ``similarity`` gate: cosine similarity of question and context embeddings."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class SimilarityGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.similarity


SIMILARITY = register_gate(SimilarityGate(
    "similarity", "cosine similarity of question and context embeddings",
    0.8, "below", "seed: \"Reject when query-context similarity <0.8\"",
    rank=80))
