"""Context distortion: sentence removal, contradicting statements, cross-document mixing.

seed: "Context Distortion: Random sentence removal (15-30% deletion); Insertion of
contradictory statements; Cross-document mixing". Each makes a copy of an answerable record
with a changed context and relabels it by what the change did:

* **removal**: a share of the context's sentences (``remove_range``, by default the seed's
  15-30%) is deleted at random. If the sentence that holds the answer is among them, the copy
  is ``unanswerable`` (answer null): the question now looks answerable and is not, the hardest
  kind of negative. Otherwise it stays answerable, with ``answer_start`` recomputed.
* **answer removal**: the answer's sentence alone is deleted; the copy is always
  ``unanswerable``. It is the negative users meet most: an on-topic question about the same
  section, whose answer is not in it.
* **contradiction**: a copy of the answer's sentence with the answer replaced by another value
  of its kind (another number, another record's answer) is inserted right after it. The
  context now states two answers: the copy is ``ambiguous``, keeping the original answer (and
  ``alt_answers`` holding the contradicting one), so a model can be taught to flag conflicts.
* **mixing**: sentences of a context from another document of the same split are inserted
  between the context's sentences; the copy stays answerable and names both documents.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from tunesmith.data.augment.base import AugmentContext, Augmented, register_augmenter
from tunesmith.data.chunk import Context, split_sentences
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes
from tunesmith.utils.text import normalize_answer

_NUMBER = re.compile(r"\d+")


def _sentences_with_answer(record: QARecord) -> tuple[list[str], int, int] | None:
    """(sentences, index of the answer's sentence, answer offset inside it)."""
    context = record.contexts[0]
    if record.answer is None or record.answer_start is None:
        return None
    sentences = split_sentences(context)
    cursor = 0
    for index, sentence in enumerate(sentences):
        at = context.find(sentence, cursor)
        if at < 0:
            return None
        cursor = at + len(sentence)
        if at <= record.answer_start and record.answer_start + len(record.answer) <= cursor:
            return sentences, index, record.answer_start - at
    return None  # the answer crosses a sentence boundary


def _rebuild(record: QARecord, sentences: list[str], answer_index: int | None,
             offset: int, **update: object) -> QARecord:
    text = " ".join(sentences)
    start = None
    if answer_index is not None:
        start = len(" ".join(sentences[:answer_index])) + (1 if answer_index else 0) + offset
    return QARecord.model_validate({
        **record.model_dump(), "contexts": [text, *record.contexts[1:]],
        "answer_start": start, **update,
    })


def remove_sentences(record: QARecord, rng: random.Random,
                     low: float, high: float) -> QARecord | None:
    found = _sentences_with_answer(record)
    if found is None or len(found[0]) < 3:
        return None
    sentences, index, offset = found
    n = max(1, round(rng.uniform(low, high) * len(sentences)))
    removed = set(rng.sample(range(len(sentences)), n))
    kept = [s for i, s in enumerate(sentences) if i not in removed]
    provenance = {**record.provenance, "augment": "remove_sentences", "source_record": record.id,
                  "removed": sorted(removed), "of": len(sentences)}
    new_id = f"{record.id}_r" + sha256_bytes(str(sorted(removed)).encode())[:6]
    if index in removed:
        return _rebuild(record, kept, None, 0, id=new_id, answer=None, kind="unanswerable",
                        difficulty="inferential", alt_answers=[], provenance=provenance)
    new_index = index - sum(1 for i in removed if i < index)
    return _rebuild(record, kept, new_index, offset, id=new_id, provenance=provenance)


def remove_answer(record: QARecord) -> QARecord | None:
    """The answer's sentence deleted: the same on-topic question over the same section, whose
    answer is simply not there any more (the unanswerable question users meet most). None
    when the answer also stands in another sentence, or too little context would remain."""
    found = _sentences_with_answer(record)
    if found is None or len(found[0]) < 3 or record.answer is None:
        return None
    sentences, index, _ = found
    kept = sentences[:index] + sentences[index + 1:]
    if normalize_answer(record.answer) in normalize_answer(" ".join(kept)):
        return None
    provenance = {**record.provenance, "augment": "remove_answer", "source_record": record.id,
                  "removed": [index], "of": len(sentences)}
    return _rebuild(record, kept, None, 0, id=f"{record.id}_ra", answer=None,
                    kind="unanswerable", difficulty="inferential", alt_answers=[],
                    provenance=provenance)


def contradict(record: QARecord, rng: random.Random, others: Sequence[str]) -> QARecord | None:
    found = _sentences_with_answer(record)
    if found is None or record.answer is None:
        return None
    sentences, index, offset = found
    answer = record.answer
    if _NUMBER.search(answer):
        other = _NUMBER.sub(lambda m: str(int(m.group(0)) + rng.choice([1, 2, 3, 5, 10])), answer)
    else:
        pool = [o for o in others if o != answer and o.lower() not in record.contexts[0].lower()]
        if not pool:
            return None
        other = rng.choice(pool)
    sentence = sentences[index]
    false = sentence[:offset] + other + sentence[offset + len(answer):]
    statement = f"However, {false[0].lower() + false[1:]}" if false[:1].isupper() else false
    mixed = sentences[: index + 1] + [statement] + sentences[index + 1 :]
    return _rebuild(
        record, mixed, index, offset,
        id=f"{record.id}_c" + sha256_bytes(other.encode())[:6], kind="ambiguous",
        difficulty="inferential", alt_answers=[*record.alt_answers, other],
        provenance={**record.provenance, "augment": "contradict", "contradiction": other,
                    "source_record": record.id},
    )


def mix_documents(record: QARecord, rng: random.Random,
                  contexts: Sequence[Context]) -> QARecord | None:
    found = _sentences_with_answer(record)
    foreign = [c for c in contexts if c.doc_id not in record.source_doc_ids]
    if found is None or not foreign:
        return None
    sentences, index, offset = found
    donor = rng.choice(foreign)
    inserts = split_sentences(donor.text)[: max(1, len(sentences) // 2)]
    mixed: list[str] = []
    new_index = index
    for i, sentence in enumerate(sentences):
        if i == index:
            new_index = len(mixed)
        mixed.append(sentence)
        if inserts and rng.random() < 0.5:
            mixed.append(inserts.pop(0))
    mixed += inserts
    return _rebuild(
        record, mixed, new_index, offset,
        id=f"{record.id}_x" + sha256_bytes(donor.id.encode())[:6],
        source_doc_ids=[*record.source_doc_ids, donor.doc_id],
        provenance={**record.provenance, "augment": "mix_documents",
                    "mixed_with": donor.id, "source_record": record.id},
    )


def _distort(ctx: AugmentContext, label: str, share: float,
             distort: Callable[[QARecord], QARecord | None]) -> Augmented:
    """A copy of ``share`` of the answerable records, chosen from the shared random stream."""
    if share <= 0:
        return [], []
    ctx.step(f"{label} ({share:.0%} of training records)")
    chosen = ctx.rng.sample(ctx.answerable, round(share * len(ctx.answerable)))
    return [v for v in map(distort, chosen) if v is not None], []


@register_augmenter("remove_sentences", order=40)
def augment_remove_sentences(ctx: AugmentContext) -> Augmented:
    low, high = ctx.config.remove_range
    return _distort(ctx, f"removing {low:.0%}-{high:.0%} of context sentences",
                    ctx.config.remove_sentences, lambda r: remove_sentences(r, ctx.rng, low, high))


@register_augmenter("remove_answer", order=50)
def augment_remove_answer(ctx: AugmentContext) -> Augmented:
    return _distort(ctx, "removing the answer's sentence", ctx.config.remove_answer,
                    remove_answer)


@register_augmenter("contradict", order=60)
def augment_contradict(ctx: AugmentContext) -> Augmented:
    answers = ctx.answers
    return _distort(ctx, "inserting contradicting statements", ctx.config.contradict,
                    lambda r: contradict(r, ctx.rng, answers))


@register_augmenter("mix_documents", order=70)
def augment_mix_documents(ctx: AugmentContext) -> Augmented:
    return _distort(ctx, "mixing in sentences of other documents", ctx.config.mix_documents,
                    lambda r: mix_documents(r, ctx.rng, ctx.contexts))
