"""Unanswerable records by context-question mismatch, with *hard* negatives.

seed: "Pair irrelevant context snippets with specific questions". A random other context is
an easy negative: it is about something else, and a model learns to abstain whenever the topic
changes. Here each question is paired with the context of another document that is most
similar to it by MiniLM embeddings (questions and contexts encoded once, in batches), so the
context looks relevant and only reading it shows that the answer is missing. A pairing whose
context contains the answer (normalised, SQuAD-style) is rejected, not kept, and the next most
similar context is tried.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.utils.hashing import sha256_bytes
from tunesmith.utils.text import normalize_answer

_TRIES_PER_QUESTION = 4  # similar contexts tried before a question is given up


def _negative(source: QARecord, context: Context, similarity: float | None) -> QARecord:
    provenance: dict[str, object] = {
        "generator": "mismatch", "question_from": source.id, "context_id": context.id
    }
    if similarity is not None:
        provenance["similarity"] = round(float(similarity), 4)
    return QARecord(
        id="u_" + sha256_bytes(f"{source.id}|{context.id}".encode())[:12],
        question=source.question,
        contexts=[context.text],
        answer=None,
        kind="unanswerable",
        difficulty="simple",
        source_doc_ids=[context.doc_id],
        provenance=provenance,
    )


def _holds_answer(source: QARecord, context: Context) -> bool:
    answers = [normalize_answer(a) for a in source.references]
    text = normalize_answer(context.text)
    return any(a and a in text for a in answers)


def hard_negatives(
    questions: Sequence[QARecord],
    contexts: Sequence[Context],
    count: int,
    seed: int,
    question_vectors: np.ndarray | None = None,
    context_vectors: np.ndarray | None = None,
) -> tuple[list[QARecord], list[Rejection]]:
    """Up to ``count`` unanswerable records: each question with its most similar context from
    another document. Without vectors the context is drawn at random (an easy negative)."""
    rng = random.Random(seed)
    order = list(range(len(questions)))
    rng.shuffle(order)
    made: list[QARecord] = []
    rejected: list[Rejection] = []
    used_questions: set[str] = set()
    for index in order:
        if len(made) >= count:
            break
        source = questions[index]
        if source.question in used_questions:
            continue
        allowed = [i for i, c in enumerate(contexts) if c.doc_id not in source.source_doc_ids]
        if not allowed:
            continue
        if question_vectors is not None and context_vectors is not None:
            scores = context_vectors[allowed] @ question_vectors[index]
            ranked = [allowed[i] for i in np.argsort(-scores)[:_TRIES_PER_QUESTION]]
            sims: list[float | None] = [float(context_vectors[i] @ question_vectors[index])
                                        for i in ranked]
        else:
            ranked = rng.sample(allowed, min(_TRIES_PER_QUESTION, len(allowed)))
            sims = [None] * len(ranked)
        for ctx_index, sim in zip(ranked, sims, strict=True):
            record = _negative(source, contexts[ctx_index], sim)
            if _holds_answer(source, contexts[ctx_index]):
                rejected.append(Rejection(record, "construct",
                                          "unanswerable: the paired context holds the answer"))
                continue
            made.append(record)
            used_questions.add(source.question)
            break
    return made, rejected
