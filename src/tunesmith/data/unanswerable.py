"""Unanswerable questions by context-question mismatch (seed: "Pair irrelevant context
snippets with specific questions").

A question from one document is paired with a context from another document of the same split,
so no question text crosses splits. A pairing whose context happens to contain the answer is
rejected, not kept.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes
from tunesmith.utils.text import normalize_answer


@dataclass(frozen=True)
class Rejection:
    record: QARecord
    stage: str
    reason: str


def count_for_fraction(n_answerable: int, fraction: float) -> int:
    """How many unanswerable records make them ``fraction`` of the total."""
    return round(n_answerable * fraction / (1 - fraction)) if fraction > 0 else 0


def make_unanswerable(
    questions: Sequence[QARecord], contexts: Sequence[Context], count: int, seed: int
) -> tuple[list[QARecord], list[Rejection]]:
    rng = random.Random(seed)
    pool = list(questions)
    rng.shuffle(pool)
    made: list[QARecord] = []
    made_ids: set[str] = set()
    rejected: list[Rejection] = []
    attempts = 0
    while len(made) < count and pool and attempts < count * 5:
        source = pool[attempts % len(pool)]
        attempts += 1
        others = [c for c in contexts if c.doc_id not in source.source_doc_ids]
        if not others:
            continue
        context = rng.choice(others)
        record = QARecord(
            id="u_" + sha256_bytes(f"{source.id}|{context.id}".encode())[:12],
            question=source.question,
            contexts=[context.text],
            answer=None,
            kind="unanswerable",
            difficulty="simple",
            source_doc_ids=[context.doc_id],
            provenance={
                "generator": "mismatch",
                "question_from": source.id,
                "context_id": context.id,
            },
        )
        answer = normalize_answer(source.answer or "")
        if answer and answer in normalize_answer(context.text):
            reason = "the paired context holds the answer"
            rejected.append(Rejection(record, "unanswerable", reason))
            continue
        if record.id in made_ids:
            continue
        made_ids.add(record.id)
        made.append(record)
    return made, rejected
