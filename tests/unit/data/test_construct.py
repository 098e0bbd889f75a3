"""The construction mix: hard negatives, adversarial and multi-hop records, shares per split."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tunesmith.config.data_gen import MixConfig
from tunesmith.data.chunk import Context
from tunesmith.data.construct import construct_mix, shares
from tunesmith.data.construct.adversarial import entity_inventory, make_adversarial
from tunesmith.data.construct.mix import fit_counts
from tunesmith.data.construct.multihop import make_multihop
from tunesmith.data.construct.negatives import hard_negatives
from tunesmith.data.generate import generate_questions, make_generator
from tunesmith.data.schema import QARecord
from tunesmith.metrics.squad_v2 import normalize_answer

DOCS = {
    "normans": "The Normans were famed for their martial spirit. The Normans adopted the "
               "Gallo-Romance language. In 1066, William invaded England.",
    "rollo": "Rollo agreed to swear fealty to King Charles III. Rollo led the Norse raiders. "
             "The treaty gave Rollo the lands between the river Epte and the Atlantic coast.",
    "william": "William was crowned in London. William built the Tower of London in 1078. "
               "The Normans built castles across England.",
    "sicily": "The Normans conquered Sicily in 1091. Roger ruled Sicily from Palermo. "
              "Palermo became a centre of trade.",
    "theory": "Computational complexity theory classifies computational problems. A Turing "
              "machine is a mathematical model of computation. Alan Turing defined the Turing "
              "machine in 1936.",
    "classes": "The class P contains decision problems solvable in polynomial time. Richard "
               "Karp showed that many problems are NP-complete in 1972.",
}


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Context], list[QARecord]]:
    contexts = [Context(f"{d}#0", d, 0, t) for d, t in DOCS.items()]
    out = generate_questions(make_generator(), contexts, limit=10)
    return contexts, [r for rs in out for r in rs]


def test_shares_read_multihop_as_part_of_the_answerable_share() -> None:
    assert shares(MixConfig()) == pytest.approx(
        {"answerable": 0.55, "multihop": 0.15, "unanswerable": 0.2, "adversarial": 0.1})
    with pytest.raises(ValueError, match="must be 1"):
        MixConfig(answerable=0.5, unanswerable=0.2, adversarial=0.1)


def test_fit_counts_keeps_shares_within_tolerance_when_a_kind_runs_short() -> None:
    targets = {"answerable": 0.55, "multihop": 0.15, "unanswerable": 0.2, "adversarial": 0.1}
    counts = fit_counts({"answerable": 110, "multihop": 10, "unanswerable": 40,
                         "adversarial": 20}, targets, tolerance=0.02)
    total = sum(counts.values())
    assert counts["multihop"] == 10 and all(
        abs(counts[k] / total - targets[k]) <= 0.02 for k in targets)


def test_hard_negatives_pick_the_most_similar_other_document() -> None:
    contexts = [Context("a#0", "a", 0, "Rollo led the raiders."),
                Context("b#0", "b", 0, "Vikings sailed from Norway."),
                Context("c#0", "c", 0, "Paris is in France."),
                Context("d#0", "d", 0, "Rollo was born in Norway.")]
    question = QARecord(id="q1", question="Who led the raiders?", contexts=[contexts[0].text],
                        answer="Rollo", answer_start=0, source_doc_ids=["a"])
    q_vec = np.array([[1.0, 0.0]])
    c_vec = np.array([[1.0, 0.0], [0.9, 0.1], [0.1, 0.9], [0.95, 0.05]])
    made, rejected = hard_negatives([question], contexts, 1, seed=0,
                                    question_vectors=q_vec, context_vectors=c_vec)
    # d is the most similar other document but holds the answer: rejected, b is next
    assert [r.source_doc_ids for r in made] == [["b"]]
    assert made[0].kind == "unanswerable" and made[0].answer is None
    assert [r.record.source_doc_ids for r in rejected] == [["d"]]
    assert "holds the answer" in rejected[0].reason


def test_adversarial_questions_are_edited_and_unanswerable(corpus: tuple) -> None:
    contexts, records = corpus
    inventory = entity_inventory([c.text for c in contexts])
    made = make_adversarial(records, 8, seed=0, inventory=inventory)
    assert made
    by_id = {r.id: r for r in records}
    for r in made:
        source = by_id[r.provenance["question_from"]]
        assert r.kind == "adversarial" and r.answer is None and r.question != source.question
        assert r.contexts == source.contexts
        if r.provenance["strategy"] == "entity-swap":
            assert normalize_answer(r.provenance["with"]) not in normalize_answer(r.contexts[0])
    assert {r.provenance["strategy"] for r in made} & {"entity-swap", "negation"}


def test_multihop_questions_join_two_documents_by_a_bridge(corpus: tuple) -> None:
    contexts, records = corpus
    made = make_multihop(records, contexts, 6, seed=0)
    assert made
    for r in made:
        assert r.kind == "multihop" and r.difficulty == "multihop" and len(r.contexts) == 2
        assert r.contexts[0][r.answer_start : r.answer_start + len(r.answer)] == r.answer
        assert len(set(r.source_doc_ids)) == 2
        bridge = r.provenance["bridge"]
        assert bridge in r.contexts[1] and bridge not in r.question


def test_construct_mix_hits_the_shares_and_nothing_crosses_splits(corpus: tuple) -> None:
    contexts, records = corpus
    split_of = {"normans": "train", "rollo": "train", "william": "train", "sicily": "train",
                "theory": "test", "classes": "test"}
    by_split = {n: [r for r in records if split_of[r.source_doc_ids[0]] == n]
                for n in ("train", "test")}
    contexts_by_split = {n: [c for c in contexts if split_of[c.doc_id] == n]
                         for n in ("train", "test")}
    out, rejected = construct_mix(by_split, contexts_by_split, MixConfig(), seed=0)
    for name, recs in out.items():
        assert all(split_of[d] == name for r in recs for d in r.source_doc_ids)
        for r in recs:
            if r.kind == "unanswerable":
                assert normalize_answer(r.contexts[0]) and r.provenance["generator"] == "mismatch"
    train = Counter(r.kind for r in out["train"])
    total = sum(train.values())
    assert set(train) == {"answerable", "multihop", "unanswerable", "adversarial"}
    assert abs(train["unanswerable"] / total - 0.2) <= 0.05
    assert all(r.stage == "construct" for r in rejected)


def test_antonym_edit_negates_a_shared_adjective_when_no_opposite_is_listed() -> None:
    from tunesmith.data.construct.adversarial import _antonym

    context = "A decision problem is the set of all connected graphs of a given size."
    record = QARecord(id="q", question="What is the set of all connected graphs called?",
                      contexts=[context], answer="decision problem",
                      answer_start=context.index("decision problem"))
    assert _antonym(record) == ("What is the set of all unconnected graphs called?",
                                {"replaced": "connected", "with": "unconnected"})
    # the context already holds the negation: the edit could stay answerable, so none is made
    both = QARecord(id="q2", question=record.question, answer=None,
                    contexts=[context + " Unconnected graphs are another matter."])
    assert _antonym(both) is None
