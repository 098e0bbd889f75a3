"""The offline ``rules`` generator: questions from a spaCy parse, spans verified."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate import GENERATORS, generate_questions, make_generator
from tunesmith.data.generate.rules import spread_order

TEXT = (
    "The Normans were famed for their martial spirit. In 1066, William the Conqueror "
    "invaded England. Rollo agreed to swear fealty to King Charles III of West Francia. "
    "The treaty gave the Normans three provinces in northern France. "
    "The broker listens on port 7420 by default."
)
WH = ("Who", "What", "When", "Where", "Which", "How many", "How much", "In which")


@pytest.fixture(scope="module")
def records() -> list:
    context = Context("doc#0", "doc", 0, TEXT)
    return list(make_generator(GenerateConfig(generator="rules")).generate(context, limit=20))


def test_questions_are_rewritten_sentences_with_exact_spans(records: list) -> None:
    assert len(records) >= 5
    for r in records:
        assert r.question.endswith("?") and r.question.startswith(WH), r.question
        assert TEXT[r.answer_start : r.answer_start + len(r.answer)] == r.answer
        assert r.answer.lower() not in r.question.lower()
        assert r.kind == "answerable" and r.provenance["generator"] == "rules"
    by_question = {r.question: r.answer for r in records}
    # subject -> who; a date after "in" -> when (the fronted phrase moves to the end);
    # do-support for an object; a number counting a noun -> how many; the patterns still apply
    assert by_question.get("Who were famed for their martial spirit?") == "Normans"
    assert by_question.get("When did William invade England?") == "1066"
    assert by_question.get("What did William invade in 1066?") == "England"
    assert by_question.get("Who did Rollo agree to swear fealty to?") == "King Charles III"
    assert by_question.get("How many provinces did the treaty give the Normans?") == "three"
    assert by_question.get("Which port does the broker listen on?") == "7420"


def test_limit_is_respected_and_answers_do_not_overlap(records: list) -> None:
    context = Context("doc#0", "doc", 0, TEXT)
    few = make_generator(GenerateConfig(generator="rules")).generate(context, limit=3)
    assert len(few) == 3
    spans = sorted((r.answer_start, r.answer_start + len(r.answer)) for r in records)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))


def test_pronoun_subjects_are_resolved_or_skipped() -> None:
    text = "The Normans adopted the Gallo-Romance language. They replaced the Norse religion."
    got = make_generator().generate(Context("d#0", "d", 0, text), limit=10)
    questions = [r.question for r in got]
    assert "Which religion did the Normans replace?" in questions
    assert not any(q.split()[2:3] == ["they"] for q in questions)


def test_squad_paragraphs_give_several_questions_each(squad_sample_dir: Path) -> None:
    data = json.loads((squad_sample_dir / "dev-sample.json").read_text())
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]][:6]
    contexts = [Context(f"p{i}#0", f"p{i}", 0, t) for i, t in enumerate(paragraphs)]
    out = generate_questions(make_generator(), contexts, limit=12)
    assert sum(len(rs) for rs in out) >= 4 * len(contexts)
    for context, rs in zip(contexts, out, strict=True):
        for r in rs:
            assert context.text[r.answer_start : r.answer_start + len(r.answer)] == r.answer
            assert len(r.question.split()) <= 24 and len(r.answer.split()) <= 10


def test_registry_lists_every_generator() -> None:
    assert {"rules", "patterns", "llm", "hf"} <= set(GENERATORS.names())


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        # a typed identifier: the answer is the name, the question asks by its type noun
        ("The server.node_id key sets the numeric identifier of the broker.",
         "Which key sets the numeric identifier of the broker?", "server.node_id"),
        ("Quotas are set with the hlctl quota command.",
         "Which command sets quotas?", "hlctl quota"),
        ("Failed requests return the error code HL-4031.",
         "Which error code do failed requests return?", "HL-4031"),
        ("The metric harborlight_active_connections reports open client connections.",
         "Which metric reports open client connections?", "harborlight_active_connections"),
        # a number after its noun names one ("version 2.7"), it does not count it
        ("Authentication was disabled by default before version 3.0.",
         "Before which version was authentication disabled by default?", "3.0"),
        ("Each snapshot includes a SHA-256 checksum.",
         "Which checksum does each snapshot include?", "SHA-256"),
        # a name with a slash is not a person, whatever the entity recogniser says
        ("The name of the current Harborlight wire protocol is HLP/2.",
         "What is the name of the current Harborlight wire protocol?", "HLP/2"),
    ],
)
def test_identifiers_are_asked_for_by_their_type(sentence: str, question: str, answer: str) -> None:
    got = make_generator().generate(Context("d#0", "d", 0, sentence), limit=10)
    by_question = {r.question: r.answer for r in got}
    assert by_question.get(question) == answer, by_question
    assert not any(q.startswith(("How many version", "Who")) for q in by_question)


def test_spread_order_covers_the_range_evenly() -> None:
    for n in range(1, 40):
        assert sorted(spread_order(n)) == list(range(n))
    assert spread_order(10)[:4] == [0, 5, 2, 7]


def test_a_limit_below_the_sentence_count_still_asks_about_the_end() -> None:
    sentences = [f"The service number {k} listens on port {7000 + k}." for k in range(10)]
    text = " ".join(sentences)
    got = make_generator().generate(Context("d#0", "d", 0, text), limit=4)
    starts = sorted(r.answer_start for r in got)
    assert len(got) == 4 and starts[-1] > len(text) // 2, [r.answer for r in got]


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        # what something is done with or by becomes the subject of the clause turned round
        ("Tiered storage is enabled per topic with the tiered.enabled setting.",
         "Which setting enables tiered storage per topic?", "tiered.enabled"),
        ("Port 7431 is used by the Keel controller quorum.", "Which quorum uses port 7431?",
         "Keel controller quorum"),
        ("Cluster metadata is managed by the Keel controller, which uses the Raft protocol.",
         "Which controller manages cluster metadata?", "Keel controller"),
        ("The Normans were conquered by William the Conqueror in 1066.",
         "Who conquered the Normans in 1066?", "William the Conqueror"),
        ("A token can be revoked at any time with hlctl token revoke.",
         "What can revoke a token at any time?", "hlctl token revoke"),
        # a measurement is asked for by what it measures, never as a count of its unit
        ("Consumer group offsets are copied every 30 seconds.",
         "How often are consumer group offsets copied?", "every 30 seconds"),
        ("A promotion takes about two minutes.", "How long does a promotion take?",
         "two minutes"),
        ("The default local retention time is 12 hours.",
         "How long is the default local retention time?", "12 hours"),
        ("Each fetcher thread uses 64 MiB of memory.",
         "How much memory does each fetcher thread use?", "64 MiB"),
        ("The read cache holds 10 GiB by default.",
         "How much does the read cache hold by default?", "10 GiB"),
        ("Reads from the object store are retried three times.",
         "How many times are reads from the object store retried?", "three times"),
    ],
)
def test_questions_are_worded_the_way_people_ask(sentence: str, question: str,
                                                 answer: str) -> None:
    got = make_generator().generate(Context("d#0", "d", 0, sentence), limit=10)
    by_question = {r.question: r.answer for r in got}
    assert by_question.get(question) == answer, by_question
    # never a count of a unit ("How many MiB ...?", "How many hours ...?")
    assert not any(q.startswith("How many") and "times" not in q for q in by_question)


@pytest.mark.parametrize(
    "sentence",
    [
        "Data disks should be mounted with the noatime option.",  # no option mounts disks
        "Passwords are hashed with 4096 iterations.",  # how, not what
        "The broker starts with three partitions.",  # an active "with": what comes along
        "Snapshots are not compressed with gzip.",  # negated
    ],
)
def test_clauses_that_do_not_turn_round_are_left_alone(sentence: str) -> None:
    got = make_generator().generate(Context("d#0", "d", 0, sentence), limit=10)
    assert not [r for r in got if r.provenance.get("rule") == "active"], [r.question for r in got]
