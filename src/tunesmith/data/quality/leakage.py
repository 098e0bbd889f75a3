"""Leakage check: no near-duplicate may sit in two of train / val / test.

The split is by document, so a context never crosses splits; what can still leak is the same
question and answer coming from two documents (boilerplate, a copied paragraph), which would let
a model score on test by memory. Across splits the test is looser than within one: near-identical
question and answer text with the same normalised answer, whatever the contexts, at the same
Jaccard threshold. (Templated questions about different facts, "Which port does node 5 use?" /
"... node 8 ...", have different answers and do not count.)

The held-out side wins: a pair across train and test drops the train record, a pair across val
and test drops the val record, so the evaluation sets stay as they were split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tunesmith.data.quality.dedup import (
    DEFAULT_NUM_PERM,
    DEFAULT_THRESHOLD,
    SignatureHasher,
    find_near_duplicates,
    record_key,
)
from tunesmith.data.schema import QARecord
from tunesmith.utils.text import normalize_answer

# the order in which splits keep their records when a near-duplicate crosses them
PRECEDENCE = ("test", "val", "train")


@dataclass(frozen=True)
class Leak:
    record: QARecord
    split: str
    other: QARecord
    other_split: str
    similarity: float

    @property
    def reason(self) -> str:
        return (f"near-duplicate of {self.other.id} in {self.other_split} "
                f"(estimated Jaccard {self.similarity:.2f}); the {self.other_split} copy is kept")


def find_leaks(
    splits: Mapping[str, Sequence[QARecord]],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
) -> list[Leak]:
    """Records to drop so that no near-duplicate pair spans two splits."""
    order = [name for name in PRECEDENCE if name in splits]
    order += [name for name in splits if name not in order]
    flat: list[tuple[str, QARecord]] = [(name, r) for name in order for r in splits[name]]
    split_of = [name for name, _ in flat]
    answers = [normalize_answer(r.answer) if r.answer is not None else None for _, r in flat]

    def across(i: int, j: int) -> bool:
        return split_of[i] != split_of[j] and answers[i] == answers[j]

    found = find_near_duplicates([record_key(r) for _, r in flat], threshold, num_perm,
                                 same=across, hasher=SignatureHasher(num_perm))
    return [Leak(flat[d.index][1], split_of[d.index], flat[d.of][1], split_of[d.of],
                 d.similarity) for d in found]
