"""Retrieval recall on a hand-made corpus where the right chunk of each question is known."""

from __future__ import annotations

import pytest

from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord
from tunesmith.decide.retrieve import (
    RETRIEVERS,
    recall_at_k,
    relevant_chunk_ids,
    retrieve_for,
)

CHUNKS = [
    Context("ops.md#0", "ops.md", 0, "The broker listens on port 7420 unless the listener "
            "setting overrides it."),
    Context("ops.md#1", "ops.md", 1, "Log files rotate every night and old files are "
            "compressed with gzip."),
    Context("bio.md#0", "bio.md", 0, "Photosynthesis converts light energy into chemical "
            "energy stored in glucose."),
    Context("bio.md#1", "bio.md", 1, "Mitochondria release the energy in glucose through "
            "cellular respiration."),
]


def _q(rid: str, question: str, chunk: int, answer: str | None = "x") -> QARecord:
    text = CHUNKS[chunk].text
    return QARecord(id=rid, question=question, contexts=[text], answer=answer,
                    kind="answerable" if answer else "unanswerable",
                    provenance={"context_id": CHUNKS[chunk].id})


QUESTIONS = [
    _q("a", "Which port does the broker listen on?", 0),
    _q("b", "How are old log files compressed?", 1),
    _q("c", "What does photosynthesis convert light energy into?", 2),
    _q("d", "Which process releases the energy in glucose in mitochondria?", 3),
]


@pytest.mark.parametrize("name", ["bm25", "embedding"])
def test_each_retriever_ranks_the_known_chunk_first(name: str) -> None:
    index = RETRIEVERS.get(name)([c.text for c in CHUNKS])
    top = index.search([q.question for q in QUESTIONS], k=1)
    assert [CHUNKS[row[0]].id for row in top] == [q.provenance["context_id"] for q in QUESTIONS]
    assert all(len(row) == 1 for row in top)
    assert len(index.search(["port"], k=10)[0]) == len(CHUNKS)  # k beyond the corpus: all


def test_recall_at_k_counts_questions_whose_chunk_was_retrieved() -> None:
    relevant = [{"ops.md#0"}, {"bio.md#1"}, set()]  # the third has no right chunk
    recall, judged = recall_at_k([["ops.md#0", "bio.md#0"], ["bio.md#0"], ["ops.md#1"]],
                                 relevant)
    assert (recall, judged) == (0.5, 2)
    assert recall_at_k([["ops.md#0"]], [set()]) == (None, 0)


def test_the_right_chunk_comes_from_provenance_or_the_context_text() -> None:
    assert relevant_chunk_ids(QUESTIONS[0], CHUNKS) == {"ops.md#0"}
    by_text = QARecord(id="e", question="q?", contexts=[CHUNKS[3].text], answer="x")
    assert relevant_chunk_ids(by_text, CHUNKS) == {"bio.md#1"}
    unanswerable = _q("f", "Who founded the broker?", 0, answer=None)
    assert relevant_chunk_ids(unanswerable, CHUNKS) == set()


def test_retrieve_for_reports_recall_and_the_reader_context() -> None:
    found = retrieve_for(CHUNKS, QUESTIONS, k=2)
    for name in ("bm25", "embedding"):
        assert found[name].recall == 1.0 and found[name].judged == 4
        assert CHUNKS[0].text in found[name].contexts[0]
        assert len(found[name].chunk_ids[0]) == 2
    # a question whose words all point at another chunk than its own: a miss at k=1
    misleading = [_q("g", "What converts light energy into chemical energy?", 3)]
    assert retrieve_for(CHUNKS, misleading, k=1, retrievers=("bm25",))["bm25"].recall == 0.0
