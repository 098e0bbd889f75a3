"""Quality control: MinHash dedup (against datasketch itself and on planted near-duplicates of
real SQuAD questions), answer spans, leakage, semantic validation."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from tunesmith.config.data_quality import QualityConfig
from tunesmith.data.quality.dedup import (
    SignatureHasher,
    deduplicate_records,
    record_key,
    shingles,
)
from tunesmith.data.quality.leakage import find_leaks
from tunesmith.data.quality.run import run_quality_control
from tunesmith.data.quality.semantic import question_context_similarity
from tunesmith.data.quality.spans import check_span, find_answer
from tunesmith.data.schema import QARecord


def _squad_records(squad_sample_dir: Path) -> list[QARecord]:
    data = json.loads((squad_sample_dir / "dev-sample.json").read_text())
    records = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = qa["answers"][0] if qa["answers"] else None
                records.append(QARecord(
                    id=qa["id"], question=qa["question"], contexts=[paragraph["context"]],
                    answer=gold["text"] if gold else None,
                    answer_start=gold["answer_start"] if gold else None,
                    kind="answerable" if gold else "unanswerable"))
    return records


def _perturb(text: str, rng: random.Random) -> str:
    """A light edit a copy-paste or a careless paraphrase makes: one of a typo, a dropped or
    added article, changed case or punctuation, two neighbouring words swapped."""
    words = text.split()
    edit = rng.randrange(5)
    if edit == 0 and len(text) > 8:  # typo: swap two neighbouring letters
        i = rng.randrange(1, len(text) - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if edit == 1:
        if "the" in words:
            words.remove("the")
        else:
            words.insert(min(2, len(words)), "the")
        return " ".join(words)
    if edit == 2:
        return text.lower().rstrip("?") + " ?"
    if edit == 3 and len(words) > 3:
        i = rng.randrange(1, len(words) - 2)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    return text.replace("?", "").strip() + "??"


def test_bulk_signatures_equal_datasketch_minhash() -> None:
    texts = ["Which port does the broker listen on? || 7420", "", "ab",
             "Wie heißt die Straße? || Hauptstraße", "x" * 500]
    bulk = SignatureHasher(num_perm=128, seed=1).signatures(texts)
    for text, signature in zip(texts, bulk, strict=True):
        reference = MinHash(num_perm=128, seed=1)
        for gram in shingles(text):
            reference.update(gram.encode("utf-8"))
        assert np.array_equal(reference.hashvalues, signature), text


def test_dedup_finds_planted_near_duplicates_with_few_false_positives(
    squad_sample_dir: Path,
) -> None:
    originals = _squad_records(squad_sample_dir)
    rng = random.Random(0)
    planted = []
    for n, source in enumerate(rng.sample(originals, 200)):
        planted.append(source.model_copy(update={
            "id": f"planted-{n}", "question": _perturb(source.question, rng)}))
    records = originals + planted
    rng.shuffle(records)
    # the original must come first for "the copy" to be the one dropped; order them so
    records.sort(key=lambda r: r.id.startswith("planted-"))

    kept, dropped = deduplicate_records(records, threshold=0.7, num_perm=128)

    dropped_ids = {r.id for r, _ in dropped}
    found = sum(r.id in dropped_ids for r in planted)
    false_positives = [r.id for r in originals if r.id in dropped_ids]
    assert found / len(planted) >= 0.95, f"found {found} of {len(planted)} planted"
    assert len(false_positives) <= 0.01 * len(originals), false_positives
    assert len(kept) + len(dropped) == len(records)
    assert all("near-duplicate of" in reason for _, reason in dropped)


def test_other_context_or_other_answer_is_not_a_duplicate() -> None:
    base = QARecord(id="a", question="Which port does the broker listen on?",
                    contexts=["The broker listens on port 7420."], answer="7420", answer_start=27)
    mismatch = QARecord(id="b", question=base.question, contexts=["Logs rotate every day."],
                        kind="unanswerable")
    swapped = QARecord(id="c", question=base.question,
                       contexts=["The broker listens on port 9183."], answer="9183",
                       answer_start=27)
    copy = base.model_copy(update={"id": "d", "question": "Which port does the broker listen on"})
    kept, dropped = deduplicate_records([base, mismatch, swapped, copy])
    assert [r.id for r in kept] == ["a", "b", "c"]
    assert [r.id for r, _ in dropped] == ["d"]
    assert record_key(mismatch).endswith("<none>")


@pytest.mark.parametrize(
    ("answer", "context", "hint", "method", "found"),
    [
        ("7420", "Port 7420 is the default.", 5, "exact", "7420"),
        ("7420", "Port 7420 is the default; 7420 again.", 0, "moved", "7420"),
        ("port 7420", "The broker uses Port  7420 by default.", None, "normalised", "Port  7420"),
        ("e mail", "Send an e-mail to support.", None, "regex", "e-mail"),
        ("Harborlight brokers", "Harborlight broker nodes are fast.", None, "fuzzy",
         "Harborlight broker"),
    ],
)
def test_find_answer_methods(answer: str, context: str, hint: int | None, method: str,
                             found: str) -> None:
    match = find_answer(answer, context, hint)
    assert match is not None and match.method == method
    assert context[match.start : match.start + len(match.text)] == match.text == found


def test_span_check_repairs_or_rejects() -> None:
    shifted = QARecord(id="s", question="Which port?", contexts=["We use port 7420 here."],
                       answer="Port 7420")
    result = check_span(shifted)
    assert result.record is not None and result.record.answer == "port 7420"
    assert result.record.answer_start == 7
    assert result.record.provenance["answer_before_repair"] == "Port 7420"
    missing = QARecord(id="m", question="Which port?", contexts=["Logs rotate daily."],
                       answer="7420")
    result = check_span(missing)
    assert result.record is None and "not found" in result.reason
    hop = QARecord(id="h", question="Where is John's office?", kind="multihop",
                   contexts=["John works at Acme.", "Acme's office is in Lyon."], answer="Lyon")
    result = check_span(hop)
    assert result.record is not None and result.record.provenance["answer_context"] == 1


def test_leakage_keeps_the_held_out_copy() -> None:
    def rec(rid: str, question: str, context: str) -> QARecord:
        return QARecord(id=rid, question=question, contexts=[context], kind="unanswerable")

    splits = {
        "train": [rec("t1", "What is the default retention period?", "doc A"),
                  rec("t2", "Who maintains the broker?", "doc B")],
        "val": [rec("v1", "How many partitions are there by default?", "doc C")],
        "test": [rec("x1", "What is the default retention period", "doc D")],
    }
    leaks = find_leaks(splits)
    assert [(leak.record.id, leak.split, leak.other.id) for leak in leaks] == [
        ("t1", "train", "x1")]


@pytest.fixture(scope="module")
def qc_splits() -> dict[str, list[QARecord]]:
    context = "The broker listens on port 7420 by default. Retention is seven days."
    return {
        "train": [
            QARecord(id="on", question="Which port does the broker listen on by default?",
                     contexts=[context], answer="7420", answer_start=27),
            QARecord(id="off", question="What is the capital of Peru?", contexts=[context],
                     answer="seven days"),
            QARecord(id="neg", question="What is the capital of Peru?", contexts=[context],
                     kind="unanswerable"),
            QARecord(id="gone", question="Who wrote the manual?", contexts=[context],
                     answer="Alice"),
        ],
        "val": [], "test": [],
    }


def test_semantic_similarity_orders_related_above_unrelated(
    qc_splits: dict[str, list[QARecord]],
) -> None:
    on, off = question_context_similarity(qc_splits["train"][:2])
    assert on > 0.3 > off


def test_quality_control_drops_with_stage_and_reason(
    qc_splits: dict[str, list[QARecord]],
) -> None:
    result = run_quality_control(qc_splits, QualityConfig(pii_scan="off"))
    assert [r.id for r in result.splits["train"]] == ["on", "neg"]
    stages = {r.record.id: r.stage for r in result.rejected}
    assert stages == {"gone": "span", "off": "semantic"}
    assert all(r.reason for r in result.rejected)
    assert result.summary["counts"] == {"before": 4, "after": 2,
                                        "dropped": {"span": 1, "semantic": 1}}
    # the unanswerable record was scored (for the report) but not filtered
    assert result.similarity["neg"] < 0.3
