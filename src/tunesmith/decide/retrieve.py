"""Retrieval for the RAG baselines: the run's own documents, chunked as the data build chunks
them, searched with the question alone; and recall@k against the chunk a question was made from.

Two retrievers, registered by name: ``bm25`` (Okapi BM25 through ``bm25s``, Lù 2024: a sparse
index, English stop words dropped) and ``embedding`` (all-MiniLM-L6-v2 sentence embeddings,
cosine; the offline encoder the dataset factory shares, ``data.nlp``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tunesmith.config import RunConfig
from tunesmith.data import nlp
from tunesmith.data.chunk import Context, chunk_documents
from tunesmith.data.ingest import ingest_sources
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError
from tunesmith.registry import Registry
from tunesmith.utils.text import normalize_context


class Retriever(Protocol):
    def search(self, queries: Sequence[str], k: int) -> list[list[int]]:
        """For each query, the indices of its ``k`` best chunks, best first."""
        ...


RETRIEVERS: Registry[Callable[[Sequence[str]], Retriever]] = Registry("retriever")


@RETRIEVERS.register("bm25")
class BM25Retriever:
    """Okapi BM25 (k1 1.5, b 0.75: bm25s's defaults) over word tokens, stop words dropped."""

    def __init__(self, texts: Sequence[str]):
        import bm25s  # deferred: only decide retrieves

        self._bm25s = bm25s
        self._size = len(texts)
        self._index = bm25s.BM25()
        self._index.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False),
                          show_progress=False)

    def search(self, queries: Sequence[str], k: int) -> list[list[int]]:
        k = min(k, self._size)
        tokens = self._bm25s.tokenize(list(queries), stopwords="en", show_progress=False)
        found, _ = self._index.retrieve(tokens, k=k, show_progress=False)
        return [[int(i) for i in row] for row in found]


@RETRIEVERS.register("embedding")
class EmbeddingRetriever:
    """Cosine similarity of MiniLM sentence embeddings (unit length: a dot product)."""

    def __init__(self, texts: Sequence[str]):
        self._vectors = np.asarray(nlp.embed(list(texts)), dtype=np.float32)

    def search(self, queries: Sequence[str], k: int) -> list[list[int]]:
        k = min(k, len(self._vectors))
        scores = np.asarray(nlp.embed(list(queries)), dtype=np.float32) @ self._vectors.T
        # stable: equal scores keep the corpus order
        return [[int(i) for i in np.argsort(-row, kind="stable")[:k]] for row in scores]


def corpus_chunks(config: RunConfig) -> list[Context]:
    """The run's documents cut as the data build cuts them (``data.chunk``), so a chunk's id is
    the ``context_id`` a question's provenance names."""
    documents = ingest_sources(config).documents  # what data.build.load_documents reads
    chunks = chunk_documents(documents, config.data.chunk.max_chars, config.data.chunk.min_chars)
    if not chunks:
        raise TunesmithError("data.sources: no text to retrieve from (the RAG baselines "
                             "search the run's documents)")
    return chunks


def relevant_chunk_ids(record: QARecord, chunks: Sequence[Context]) -> set[str]:
    """The chunks ``record`` was asked of: its provenance's ``context_id`` when that is a chunk,
    else those whose text is one of its contexts (both normalised). Empty for a question
    without an answer: no chunk is right for it."""
    if not record.answerable:
        return set()
    named = record.provenance.get("context_id")
    if isinstance(named, str) and any(c.id == named for c in chunks):
        return {named}
    wanted = {normalize_context(c) for c in record.contexts}
    return {c.id for c in chunks if normalize_context(c.text) in wanted}


def recall_at_k(retrieved: Sequence[Sequence[str]],
                relevant: Sequence[set[str]]) -> tuple[float | None, int]:
    """The share of questions with a known right chunk that have one among their retrieved
    chunks, and how many such questions there were (recall None when none)."""
    judged = [(got, right) for got, right in zip(retrieved, relevant, strict=True) if right]
    if not judged:
        return None, 0
    hits = sum(1 for got, right in judged if right & set(got))
    return hits / len(judged), len(judged)


@dataclass(frozen=True)
class Retrieval:
    """What one retriever found for each question: chunk ids, the context they make, recall."""

    retriever: str
    chunk_ids: list[list[str]]
    contexts: list[str]
    recall: float | None
    judged: int  # questions with a known right chunk


def retrieve_for(chunks: Sequence[Context], records: Sequence[QARecord], k: int,
                 retrievers: Sequence[str] = ("bm25", "embedding")) -> dict[str, Retrieval]:
    """Each retriever's top ``k`` chunks for each question (the question alone), joined into
    the context the reader is given, and its recall@k."""
    texts = [c.text for c in chunks]
    relevant = [relevant_chunk_ids(r, chunks) for r in records]
    found: dict[str, Retrieval] = {}
    for name in retrievers:
        index = RETRIEVERS.get(name)(texts)
        hits = index.search([r.question for r in records], k) if records else []
        ids = [[chunks[i].id for i in row] for row in hits]
        recall, judged = recall_at_k(ids, relevant)
        found[name] = Retrieval(name, ids, ["\n\n".join(texts[i] for i in row) for row in hits],
                                recall, judged)
    return found
