"""Augmenters: paraphrase, entity swap, context distortion; every copy stays a valid record."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tunesmith.config.data_gen import AugmentConfig
from tunesmith.data.augment import augment_records
from tunesmith.data.augment.distort import (
    contradict,
    mix_documents,
    remove_answer,
    remove_sentences,
)
from tunesmith.data.augment.entity_swap import replace_everywhere, swap_entities
from tunesmith.data.augment.paraphrase import (
    paraphrase_records,
    template_paraphrases,
    valid_paraphrase,
)
from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord

CONTEXT = ("The Dell XPS ships from Austin. It has 512 GB of storage. The battery lasts 12 hours. "
           "Support is based in New York. The warranty covers 2 years.")


def _record(question: str, answer: str, doc: str = "dell") -> QARecord:
    return QARecord(id=f"q_{abs(hash(question)) % 10**8}", question=question, contexts=[CONTEXT],
                    answer=answer, answer_start=CONTEXT.index(answer), source_doc_ids=[doc],
                    provenance={"generator": "rules", "context_id": f"{doc}#0"})


RECORDS = [
    _record("Where is support based?", "New York"),
    _record("How many GB of storage does the Dell XPS have?", "512"),
    _record("Which city does the Dell XPS ship from?", "Austin"),
    _record("How long does the battery last?", "12 hours"),
]
OTHER = Context("lenovo#0", "lenovo", 0, "The Lenovo ThinkPad is built in Singapore. It weighs "
                "1.2 kg. Its keyboard is spill resistant.")


def test_template_paraphrases_keep_the_answer_valid() -> None:
    made, rejected = paraphrase_records(RECORDS, copies=2, seed=0)
    assert len(made) >= len(RECORDS)
    questions = {r.question for r in made}
    assert "In what place is support based?" in questions
    for r in made:
        source = next(s for s in RECORDS if s.id == r.provenance["source_record"])
        assert r.question != source.question and r.answer == source.answer
        assert r.contexts[0][r.answer_start : r.answer_start + len(r.answer)] == r.answer
        assert r.provenance["augment"] == "paraphrase"
    assert valid_paraphrase(RECORDS[0], "Where is support based in New York?") == (
        "gives the answer away")
    assert all(r.stage == "augment" for r in rejected)


def test_a_fronted_preposition_stays_in_front_and_capitalised_once() -> None:
    record = _record("Since which version has support been based in New York?", "New York")
    got = template_paraphrases(record, random.Random(0))
    assert "Since what version has support been based in New York?" in got
    assert all(", Since" not in q for q in got), got


def test_model_paraphrases_are_checked_before_they_are_kept() -> None:
    def fake_backend(records: list[QARecord], n: int) -> list[list[str]]:
        return [["Where is the support team located?", "New York?", ""] for _ in records]

    made, rejected = paraphrase_records(RECORDS[:1], copies=3, seed=0, paraphraser=fake_backend)
    assert [r.question for r in made] == ["Where is the support team located?"]
    assert sorted(r.reason for r in rejected) == ["paraphrase: empty or too short",
                                                  "paraphrase: empty or too short"]


def test_entity_swap_is_consistent_in_question_context_and_answer() -> None:
    record = RECORDS[1]
    swapped = replace_everywhere(record, "512", "256")
    assert swapped is not None and swapped.answer == "256" and "512" not in swapped.contexts[0]
    made, _ = swap_entities(RECORDS, copies=1, seed=0,
                            corpus_texts=[CONTEXT, OTHER.text, "Offices in Singapore and Berlin."])
    assert made
    for r in made:
        old, new = r.provenance["swapped"], r.provenance["with"]
        assert new in r.contexts[0] and f" {old} " not in f" {r.contexts[0]} "
        assert r.contexts[0][r.answer_start : r.answer_start + len(r.answer)] == r.answer
    assert {r.provenance["family"] for r in made} >= {"number", "location"}


def test_sentence_removal_relabels_when_the_answer_sentence_goes() -> None:
    outcomes = Counter()
    for seed in range(30):
        copy = remove_sentences(RECORDS[0], random.Random(seed), 0.15, 0.30)
        assert copy is not None
        assert len(copy.contexts[0]) < len(CONTEXT)
        outcomes[copy.kind] += 1
        if copy.kind == "unanswerable":
            assert copy.answer is None and "New York" not in copy.contexts[0]
        else:
            assert copy.contexts[0][copy.answer_start:].startswith("New York")
    assert outcomes["unanswerable"] and outcomes["answerable"]


def test_answer_removal_leaves_the_section_without_its_answer() -> None:
    copy = remove_answer(RECORDS[0])
    assert copy is not None and copy.kind == "unanswerable" and copy.answer is None
    assert copy.question == RECORDS[0].question and copy.source_doc_ids == ["dell"]
    assert "New York" not in copy.contexts[0]
    assert copy.contexts[0] == CONTEXT.replace(" Support is based in New York.", "")
    assert copy.provenance["augment"] == "remove_answer"
    # an answer that also stands in a kept sentence is still answerable: no copy
    twice = CONTEXT + " Austin is also home to the repair centre."
    record = RECORDS[2].model_copy(update={"contexts": [twice]})
    assert remove_answer(record) is None


def test_answer_removal_through_the_augment_config() -> None:
    made, _ = augment_records(RECORDS, AugmentConfig(remove_answer=1.0), seed=0)
    assert len(made) == len(RECORDS)
    assert all(r.kind == "unanswerable" and r.answer is None for r in made)


def test_contradiction_is_ambiguous_and_mixing_keeps_the_answer() -> None:
    rng = random.Random(0)
    ambiguous = contradict(RECORDS[1], rng, ["Austin"])
    assert ambiguous is not None and ambiguous.kind == "ambiguous"
    other = ambiguous.alt_answers[-1]
    assert other != "512" and other in ambiguous.contexts[0] and "512" in ambiguous.contexts[0]
    mixed = mix_documents(RECORDS[2], rng, [OTHER])
    assert mixed is not None and mixed.kind == "answerable"
    assert mixed.source_doc_ids == ["dell", "lenovo"]
    assert mixed.contexts[0][mixed.answer_start :].startswith("Austin")
    assert any(s in mixed.contexts[0] for s in ("Singapore", "1.2 kg", "spill"))


def test_augment_records_runs_what_the_config_turns_on() -> None:
    config = AugmentConfig(paraphrase=1, entity_swap=1, remove_sentences=0.5, contradict=1.0,
                           mix_documents=0.5)
    made, _ = augment_records(RECORDS, config, seed=0, contexts=[OTHER])
    kinds = Counter(r.provenance["augment"] for r in made)
    assert set(kinds) == {"paraphrase", "entity_swap", "remove_sentences", "contradict",
                          "mix_documents"}
    assert all(r.id not in {s.id for s in RECORDS} for r in made)
    assert len({r.id for r in made}) == len(made)
    with pytest.raises(ValueError, match="remove_range"):
        AugmentConfig(remove_range=(0.4, 0.2))
