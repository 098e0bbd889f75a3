"""Entity swapping: one entity replaced by another of its type, everywhere in the record.

seed: "Entity Swapping: Product-based: Dell XPS -> Lenovo ThinkPad; Location-based: New York ->
Singapore; Numerical variations: 5GB -> 10GB storage". An entity of the record (a product or
organisation, a place, or a number), chosen from those that the question or the answer names
first, is replaced in the question, in every context and in the answer by another entity of
the same type from the corpus (a number by another number of the same length), so the copy
stays consistent and its answer is still found at its (recomputed) ``answer_start``. Unlike
answer swapping (swap.py), the swapped entity need not be the answer: a copy asks the same
thing about a different product or place.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from tunesmith.data.augment.base import AugmentContext, Augmented, register_augmenter
from tunesmith.data.nlp import parse
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.utils.hashing import sha256_bytes

# seed's three families: products (and the organisations that make them), places, numbers
_FAMILIES = {"PRODUCT": "product", "ORG": "product", "WORK_OF_ART": "product",
             "GPE": "location", "LOC": "location", "FAC": "location"}
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]\d)")


def _whole(text: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)")


def entities_by_family(texts: Sequence[str]) -> dict[str, list[str]]:
    """Names of the corpus per family (product, location), each once, in a stable order."""
    found: dict[str, dict[str, None]] = {"product": {}, "location": {}}
    for doc in parse(texts):
        for ent in doc.ents:
            family = _FAMILIES.get(ent.label_)
            if family and ent.text[:1].isupper() and 2 <= len(ent.text) <= 40:
                found[family][ent.text] = None
    return {family: list(names) for family, names in found.items()}


def _renumber(number: str, rng: random.Random) -> str:
    digits = number.replace(".", "")
    while True:
        low = 10 ** (len(digits) - 1) if len(digits) > 1 else 1
        candidate = str(rng.randint(low, 10 ** len(digits) - 1))
        if "." in number:
            point = number.index(".")
            candidate = candidate[:point] + "." + candidate[point:]
        if candidate != number:
            return candidate


def replace_everywhere(record: QARecord, old: str, new: str) -> QARecord | None:
    """``record`` with every whole-word ``old`` replaced by ``new`` in question, contexts and
    answer; ``answer_start`` moved by the length changes before it. None if the answer's
    position cannot be kept (``old`` straddles the answer's edge)."""
    pattern = _whole(old)
    context = record.contexts[0]
    start = record.answer_start
    if record.answer is not None and start is not None:
        end = start + len(record.answer)
        for m in pattern.finditer(context):
            if m.start() < start < m.end() or m.start() < end < m.end():
                return None  # a partial overlap would tear the answer apart
        shift = sum(len(new) - len(old) for m in pattern.finditer(context) if m.end() <= start)
        start += shift
    answer = pattern.sub(new, record.answer) if record.answer is not None else None
    contexts = [pattern.sub(new, c) for c in record.contexts]
    try:
        return QARecord.model_validate({
            **record.model_dump(),
            "question": pattern.sub(new, record.question),
            "contexts": contexts,
            "answer": answer,
            "answer_start": start,
        })
    except ValueError:
        return None


def swap_entities(
    records: Sequence[QARecord], copies: int, seed: int, corpus_texts: Sequence[str]
) -> tuple[list[QARecord], list[Rejection]]:
    """Up to ``copies`` entity-swapped copies of each answerable record."""
    if copies <= 0:
        return [], []
    rng = random.Random(seed)
    inventory = entities_by_family(corpus_texts)
    pool = [r for r in records if r.answer is not None and r.answer_start is not None]
    docs = parse([f"{r.question} {r.answer}" for r in pool])
    made: list[QARecord] = []
    rejected: list[Rejection] = []
    for record, doc in zip(pool, docs, strict=True):
        context = record.contexts[0]
        options: list[tuple[str, str]] = []  # (family, text) the question/answer names
        for ent in doc.ents:
            family = _FAMILIES.get(ent.label_)
            if family and _whole(ent.text).search(context):
                options.append((family, ent.text))
        options += [("number", m.group(0)) for m in _NUMBER.finditer(f"{record.question} "
                                                                      f"{record.answer}")
                    if _whole(m.group(0)).search(context)]
        for index in range(copies):
            if not options:
                break
            family, old = options[index % len(options)]
            if family == "number":
                new = _renumber(old, rng)
            else:
                choices = [n for n in inventory.get(family, [])
                           if n != old and not _whole(n).search(context) and old not in n]
                if not choices:
                    continue
                new = rng.choice(choices)
            if _whole(new).search(context):
                continue  # the context would then state both values
            variant = replace_everywhere(record, old, new)
            if variant is None:
                continue
            variant = variant.model_copy(update={
                "id": f"{record.id}_e{index}_" + sha256_bytes(f"{old}>{new}".encode())[:6],
                "provenance": {**record.provenance, "augment": "entity_swap", "family": family,
                               "swapped": old, "with": new, "source_record": record.id},
            })
            made.append(variant)
    return made, rejected


@register_augmenter("entity_swap", order=30)
def augment(ctx: AugmentContext) -> Augmented:
    if not ctx.config.entity_swap:
        return [], []
    ctx.step(f"swapping entities ({ctx.config.entity_swap} per training record)")
    texts = [c.text for c in ctx.contexts] or [r.contexts[0] for r in ctx.answerable]
    return swap_entities(ctx.answerable, ctx.config.entity_swap, ctx.seed + 2, texts)
