"""Answer swapping (the seed's "entity swapping" and "numerical variations": 5GB -> 10GB).

A copy of an answerable record has its answer replaced, in the answer and everywhere it occurs
in the context, by a different value: a number by another number of the same length, any
other answer by the answer of another record asked by the same rule. The copy can only be
answered by reading the context, never from memory of the source document, which is what a
model must learn to answer questions about documents it has not seen. Only training records
are augmented: validation and test stay as written.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence

from tunesmith.data.augment.base import AugmentContext, Augmented, register_augmenter
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes

_NUMBER = re.compile(r"\d+")


def _renumber(answer: str, rng: random.Random) -> str:
    def other(match: re.Match[str]) -> str:
        digits = match.group(0)
        while True:
            low = 10 ** (len(digits) - 1) if len(digits) > 1 else 0
            candidate = str(rng.randint(low, 10 ** len(digits) - 1))
            if candidate != digits:
                return candidate

    return _NUMBER.sub(other, answer)


def _swap_one(record: QARecord, new_answer: str, index: int) -> QARecord | None:
    old = record.answer
    if old is None or record.answer_start is None or new_answer == old:
        return None
    context = record.contexts[0]
    # every occurrence, so the context does not state both values
    pattern = re.compile(r"(?<!\w)" + re.escape(old) + r"(?!\w)")
    starts = [m.start() for m in pattern.finditer(context)]
    if record.answer_start not in starts:
        return None
    shift = sum(len(new_answer) - len(old) for s in starts if s < record.answer_start)
    return record.model_copy(
        update={
            "id": f"{record.id}_s{index}_" + sha256_bytes(new_answer.encode())[:6],
            "contexts": [pattern.sub(lambda _: new_answer, context), *record.contexts[1:]],
            "answer": new_answer,
            "answer_start": record.answer_start + shift,
            "provenance": {**record.provenance, "augment": "swap", "swapped_from": old,
                           "source_record": record.id},
        }
    )


def swap_answers(records: Sequence[QARecord], copies: int, seed: int) -> list[QARecord]:
    """Up to ``copies`` swapped variants of each answerable record (originals not included)."""
    if copies <= 0:
        return []
    rng = random.Random(seed)
    by_rule: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r.answer is not None:
            by_rule[str(r.provenance.get("rule"))].append(r.answer)
    made: list[QARecord] = []
    for record in records:
        if record.answer is None:
            continue
        pool = [a for a in by_rule[str(record.provenance.get("rule"))] if a != record.answer]
        for index in range(copies):
            if _NUMBER.search(record.answer):
                new_answer = _renumber(record.answer, rng)
            elif pool:
                new_answer = rng.choice(pool)
            else:
                continue
            variant = _swap_one(record, new_answer, index)
            if variant is not None:
                made.append(QARecord.model_validate(variant.model_dump()))  # re-check the span
    return made


@register_augmenter("swap", order=10)
def augment(ctx: AugmentContext) -> Augmented:
    if not ctx.config.swap:
        return [], []
    ctx.step(f"swapping answers ({ctx.config.swap} per training record)")
    return swap_answers(ctx.answerable, ctx.config.swap, ctx.seed), []
