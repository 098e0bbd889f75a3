from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.data.chunk import chunk_document, split_sentences
from tunesmith.data.generate import GENERATORS
from tunesmith.data.generate.patterns import drafts_for_sentence
from tunesmith.data.schema import QARecord, read_records, write_records
from tunesmith.data.sources import Document, read_documents
from tunesmith.data.sources.text import SourceError, markdown_to_text
from tunesmith.data.split import split_documents
from tunesmith.utils.io import DataFileError

DOC = """# Harborlight ports

The broker listens on port 7420 by default. The default retention period is 7 days.

Version 3.2 was released in March 2024, and it added tiered storage.
The configuration file is stored in /etc/harborlight/harborlight.toml.

The segment size defaults to 512 MB. It is fast.
"""


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        ("The broker listens on port 7420 by default.",
         "Which port does the broker listen on?", "7420"),
        ("The default retention period is 7 days.", "What is the default retention period?",
         "7 days"),
        ("Version 3.2 was released in March 2024, and it added tiered storage.",
         "When was Version 3.2 released?", "March 2024"),
        ("The configuration file is stored in /etc/hl/hl.toml.",
         "Where is the configuration file stored?", "/etc/hl/hl.toml"),
        ("The segment size defaults to 512 MB.", "What does the segment size default to?",
         "512 MB"),
        ("Consumer groups were introduced in version 2.0.",
         "In which version were Consumer groups introduced?", "version 2.0"),
    ],
)
def test_rules_turn_sentences_into_questions(sentence: str, question: str, answer: str) -> None:
    drafts = drafts_for_sentence(sentence)
    assert [(d.question, d.answer) for d in drafts] == [(question, answer)]
    assert sentence[drafts[0].offset : drafts[0].offset + len(answer)] == answer


@pytest.mark.parametrize("sentence", ["It is fast.", "The console is not enabled.", "Is it?"])
def test_rules_skip_sentences_they_cannot_ask_about(sentence: str) -> None:
    assert drafts_for_sentence(sentence) == []


def test_generator_spans_are_verified_against_the_context() -> None:
    doc = Document("ports.md", markdown_to_text(DOC)[1], "ports.md")
    contexts = chunk_document(doc, max_chars=400, min_chars=40)
    generator = GENERATORS.get("patterns")()
    records = [r for c in contexts for r in generator.generate(c, limit=10)]
    assert len(records) == 5
    for r in records:
        assert r.answer is not None and r.answer_start is not None
        assert r.contexts[0][r.answer_start : r.answer_start + len(r.answer)] == r.answer
        assert r.source_doc_ids == ["ports.md"] and r.kind == "answerable"


def test_generator_limit_spreads_over_context() -> None:
    doc = Document("ports.md", markdown_to_text(DOC)[1], "ports.md")
    ctx = chunk_document(doc, max_chars=2000, min_chars=2000)[0]
    records = GENERATORS.get("patterns")().generate(ctx, limit=2)
    assert len(records) == 2
    assert records[0].answer == "7420" and records[1].answer != "7 days"


def test_unknown_generator_suggests() -> None:
    with pytest.raises(KeyError, match="did you mean 'rules'"):
        GENERATORS.get("rulez")


def test_markdown_is_stripped_and_title_kept() -> None:
    title, text = markdown_to_text("# Title\n\n- Use `hlctl` **now**.\n")
    assert title == "Title"
    assert "Use hlctl now." in text and "`" not in text and "**" not in text


def test_chunks_respect_limits_and_drop_headings() -> None:
    doc = Document("d", markdown_to_text(DOC)[1], "d")
    chunks = chunk_document(doc, max_chars=120, min_chars=30)
    assert all(len(c.text) <= 120 for c in chunks)
    assert not any(c.text.startswith("#") for c in chunks)
    assert " ".join(c.text for c in chunks).count("7420") == 1
    assert [c.id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]


def test_sentence_split_keeps_versions_together() -> None:
    assert split_sentences("Version 3.2 is out. It uses v1.5 files.") == [
        "Version 3.2 is out.", "It uses v1.5 files."]


def test_split_is_deterministic_disjoint_and_stable() -> None:
    ids = [f"doc{i}.md" for i in range(30)]
    a = split_documents(ids, val=0.1, test=0.1, seed=0)
    b = split_documents(list(reversed(ids)), val=0.1, test=0.1, seed=0)
    assert a == b
    assert len(a["test"]) == 3 and len(a["val"]) == 3 and len(a["train"]) == 24
    assert not set(a["train"]) & set(a["test"]) and not set(a["val"]) & set(a["test"])
    assert sorted(a["train"] + a["val"] + a["test"]) == sorted(ids)
    grown = split_documents([*ids, "new.md"], val=0.1, test=0.1, seed=0)
    moved = [d for d in ids for s in ("train", "val", "test") if d in a[s] and d not in grown[s]]
    assert len(moved) <= 2  # a new document shifts at most the boundary documents
    assert split_documents(ids, 0.1, 0.1, seed=1) != a


def test_schema_rejects_wrong_span_and_answered_unanswerable() -> None:
    with pytest.raises(ValueError, match="not found at answer_start"):
        QARecord(id="x", question="q?", contexts=["abc def"], answer="def", answer_start=0)
    with pytest.raises(ValueError, match="unanswerable"):
        QARecord(id="x", question="q?", contexts=["c"], answer="c", kind="unanswerable")


def test_records_round_trip_and_bad_line_is_named(tmp_path: Path) -> None:
    rec = QARecord(id="x", question="q?", contexts=["abc def"], answer="def", answer_start=4)
    path = tmp_path / "r.jsonl"
    write_records(path, [rec, rec])
    assert read_records(path) == [rec, rec]
    path.write_text(path.read_text() + '{"id": "y", "question": "q?", "contexts": "oops"}\n')
    with pytest.raises(DataFileError, match=r"r\.jsonl:3: key 'contexts'"):
        read_records(path)


def test_read_documents_errors_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_documents(tmp_path / "missing")
    with pytest.raises(SourceError, match="no md, txt files"):
        read_documents(tmp_path)
    (tmp_path / "a.md").write_text("# A\n\nText.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_bytes("caf\xe9".encode("cp1252"))
    docs = read_documents(tmp_path)
    assert [d.id for d in docs] == ["a.md", "sub/b.txt"]
    assert docs[1].text == "café" and docs[0].title == "A"


def test_swap_replaces_answer_everywhere_and_keeps_span_valid() -> None:
    from tunesmith.data.augment import swap_answers

    ctx = "Retention is 7 days. After 7 days, data is deleted. The port is 7420."
    rec = QARecord(id="q", question="What is retention?", contexts=[ctx], answer="7 days",
                   answer_start=13, provenance={"rule": "copula"})
    other = QARecord(id="p", question="What is the port?", contexts=[ctx], answer="7420",
                     answer_start=ctx.index("7420"), provenance={"rule": "copula"})
    made = swap_answers([rec, other], copies=2, seed=0)
    assert len(made) == 4
    for m in made:
        assert m.answer is not None and m.answer_start is not None
        assert m.contexts[0][m.answer_start:m.answer_start + len(m.answer)] == m.answer
        assert m.provenance["augment"] == "swap"
        assert m.answer != m.provenance["swapped_from"]
        assert m.provenance["swapped_from"] not in m.contexts[0].replace("7420", "")
    assert swap_answers([rec], copies=0, seed=0) == []


def test_a_line_without_sentence_breaks_is_cut_by_characters() -> None:
    text = "the broker listens on port 7420 by default " * 200 + "x" * 900  # no '. A'
    chunks = chunk_document(Document("d", text, "d"), max_chars=300, min_chars=50)
    assert len(chunks) > 10 and all(len(c.text) <= 300 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)


def test_spacy_is_never_handed_more_than_its_max_length(monkeypatch) -> None:
    from tunesmith.data.nlp import SPACY_MODEL, load_spacy, parse

    monkeypatch.setattr(load_spacy(SPACY_MODEL), "max_length", 60)  # the pipeline parse uses
    text = "The broker listens on port 7420 by default in every tier of the cluster. " * 3
    (doc,) = parse([text])
    assert doc.text == text[:60]
