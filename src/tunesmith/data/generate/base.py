"""The interface every question generator implements, and the helpers they share.

A generator is registered by name in :data:`GENERATORS` and built by :func:`make_generator`
from the ``data.generate`` config section. It writes answerable questions for a context, each
with an answer that is an exact span of the context (verified here, in :func:`span_record`,
before any record is kept). Generators that work better in batches (a spaCy pipe, concurrent
HTTP requests) implement ``generate_batch``; :func:`generate_questions` uses it when present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord
from tunesmith.registry import Registry
from tunesmith.utils.hashing import sha256_bytes


class QuestionGenerator(Protocol):
    """Writes answerable questions for a context, each with a verified answer span."""

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]: ...


@runtime_checkable
class BatchGenerator(Protocol):
    """A generator that is faster over many contexts at once."""

    def generate_batch(
        self, contexts: Sequence[Context], limit: int, on_done: Callable[[int], None] | None = None
    ) -> list[list[QARecord]]: ...


GENERATORS: Registry[Callable[..., QuestionGenerator]] = Registry("generator")


def make_generator(
    config: GenerateConfig | None = None, *, cache_dir: Path | None = None, seed: int = 0
) -> QuestionGenerator:
    """The generator named by ``config.generator``, built from its config keys."""
    config = config or GenerateConfig()
    return GENERATORS.get(config.generator)(config, cache_dir=cache_dir, seed=seed)


def generate_questions(
    generator: QuestionGenerator,
    contexts: Sequence[Context],
    limit: int,
    on_done: Callable[[int], None] | None = None,
) -> list[list[QARecord]]:
    """Questions for every context (one list per context, in order)."""
    if isinstance(generator, BatchGenerator):
        return generator.generate_batch(contexts, limit, on_done)
    out = []
    for context in contexts:
        out.append(list(generator.generate(context, limit)))
        if on_done:
            on_done(1)
    return out


def find_span(text: str, answer: str, hint: int | None = None) -> int | None:
    """Where ``answer`` occurs in ``text``: at ``hint`` if it is there, else the first place."""
    if not answer:
        return None
    if hint is not None and text[hint : hint + len(answer)] == answer:
        return hint
    start = text.find(answer)
    return start if start >= 0 else None


def span_record(
    context: Context,
    question: str,
    answer: str,
    start: int | None,
    generator: str,
    **provenance: Any,
) -> QARecord | None:
    """An answerable record, or None when ``answer`` is not an exact span of the context.

    ``start`` is where the generator says the answer sits; when it is wrong (an LLM's count of
    characters rarely is right) the first occurrence is used instead.
    """
    answer = answer.strip()
    question = " ".join(question.split())
    begin = find_span(context.text, answer, start)
    if begin is None or not question:
        return None
    return QARecord(
        id="q_" + sha256_bytes(f"{context.id}|{question}|{answer}".encode())[:12],
        question=question,
        contexts=[context.text],
        answer=answer,
        answer_start=begin,
        kind="answerable",
        difficulty="simple",
        source_doc_ids=[context.doc_id],
        provenance={"generator": generator, "context_id": context.id, **provenance},
    )


def spread(records: list[QARecord], limit: int) -> list[QARecord]:
    """Keep at most ``limit`` records, spread over the context rather than its first lines."""
    if len(records) <= limit:
        return records
    step = len(records) / limit
    return [records[int(i * step)] for i in range(limit)]


def spread_order(n: int) -> list[int]:
    """``0 .. n-1`` in an order whose every prefix covers the range evenly (the base-2 van der
    Corput sequence scaled to ``n``): 0, n/2, n/4, 3n/4, ... :func:`spread` keeps ``limit``
    evenly spaced items once; this order serves a selection that goes round several times and
    skips items (``rules``)."""
    order: list[int] = []
    seen: set[int] = set()
    i = 0
    while len(order) < n:
        x, denom, j = 0.0, 1.0, i
        while j:
            denom *= 2
            x += (j & 1) / denom
            j >>= 1
        index = int(x * n)
        if index not in seen:
            seen.add(index)
            order.append(index)
        i += 1
    return order
