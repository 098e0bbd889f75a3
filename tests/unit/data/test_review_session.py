"""A round reviewed one record at a time (the web UI's Review page): decisions saved one by one
into the round's file, counted against the seed's ranges, edits checked and applied by the
next build's ``apply_review``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.config.data_quality import ReviewConfig
from tunesmith.data.review import ReviewError, apply_edit, apply_review, load_rounds
from tunesmith.data.review_session import decide_record, load_round
from tunesmith.data.schema import QARecord, write_records

EXPECTED = ReviewConfig().expected
CONTEXT = "The broker listens on port 7420. Retention is seven days."


def _records() -> list[QARecord]:
    return [QARecord(id=f"q{i}", question=f"Which port, {i}?", contexts=[CONTEXT],
                     answer="7420", answer_start=CONTEXT.index("7420")) for i in range(4)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    records = _records()
    write_records(folder / "train.jsonl", records[:2])
    write_records(folder / "val.jsonl", records[2:3])
    write_records(folder / "test.jsonl", records[3:])
    return folder


def test_decisions_are_saved_one_at_a_time_and_counted(data_dir: Path, tmp_path: Path) -> None:
    review = tmp_path / "review"
    state = load_round(data_dir, review, EXPECTED, "correctness")
    assert [r.id for r in state.records] == ["q0", "q1", "q2", "q3"]
    assert (state.reviewed, state.pending, state.current().id) == (0, 4, "q0")  # type: ignore[union-attr]

    decide_record(data_dir, review, EXPECTED, "correctness", "q0", "reject", " wrong ", "ana")
    decide_record(data_dir, review, EXPECTED, "correctness", "q1", "accept")
    state = load_round(data_dir, review, EXPECTED, "correctness")
    assert (state.reviewed, state.pending) == (2, 2)
    assert state.current().id == "q2"  # type: ignore[union-attr]
    assert state.next_pending("q3").id == "q2"  # type: ignore[union-attr]  # wraps round
    assert state.neighbour("q0", -1) is None and state.neighbour("q0", 1).id == "q1"  # type: ignore[union-attr]
    assert state.rates["rounds"]["correctness"] == {
        "reviewed": 2, "rejected": 1, "rate": 0.5, "expected": [0.2, 0.3], "within": False}
    rows = [json.loads(line) for line in (review / "correctness.jsonl").read_text().splitlines()]
    assert rows[0] == {"id": "q0", "round": "correctness", "decision": "reject",
                       "reason": "wrong", "reviewer": "ana"}

    # a changed mind replaces the decision; the rate follows
    decide_record(data_dir, review, EXPECTED, "correctness", "q0", "accept")
    assert load_round(data_dir, review, EXPECTED, "correctness").rates["rounds"][
        "correctness"]["rejected"] == 0
    # the next round reviews only what this one kept
    decide_record(data_dir, review, EXPECTED, "correctness", "q3", "reject")
    assert [r.id for r in load_round(data_dir, review, EXPECTED, "relevance").records] == [
        "q0", "q1", "q2"]
    with pytest.raises(ReviewError, match="'q3' is not among"):
        decide_record(data_dir, review, EXPECTED, "relevance", "q3", "accept")
    with pytest.raises(ReviewError, match="unknown review round 'typo'"):
        load_round(data_dir, review, EXPECTED, "typo")


def test_an_edit_is_checked_saved_and_applied_by_the_build(data_dir: Path,
                                                           tmp_path: Path) -> None:
    review = tmp_path / "review"
    made = decide_record(data_dir, review, EXPECTED, "correctness", "q1", "accept",
                         edit={"question": " Which port does the broker use? ",
                               "answer": "port 7420"})
    assert made.edit == {"question": "Which port does the broker use?", "answer": "port 7420"}
    decide_record(data_dir, review, EXPECTED, "correctness", "q2", "accept",
                  edit={"question": "Which port, 2?", "answer": None})  # unanswerable now
    with pytest.raises(ReviewError, match="does not appear in the context"):
        decide_record(data_dir, review, EXPECTED, "correctness", "q0", "accept",
                      edit={"answer": "8080"})
    with pytest.raises(ReviewError, match="an edit keeps the record"):
        decide_record(data_dir, review, EXPECTED, "correctness", "q0", "reject",
                      edit={"question": "Why?"})

    decided = load_rounds(review, list(EXPECTED))
    assert decided["correctness"][1].edit == {"answer": None}  # the unchanged question is not kept
    splits, dropped = apply_review({"train": _records()}, decided)
    by_id = {r.id: r for r in splits["train"]}
    assert not dropped
    assert by_id["q1"].question == "Which port does the broker use?"
    assert (by_id["q1"].answer, by_id["q1"].answer_start) == ("port 7420", CONTEXT.index("port"))
    assert by_id["q1"].provenance["review_edit"] == ["answer", "question"]
    assert (by_id["q2"].answer, by_id["q2"].kind) == (None, "unanswerable")
    assert by_id["q0"] == _records()[0]


def test_apply_edit_refuses_what_the_schema_cannot_hold() -> None:
    record = _records()[0]
    with pytest.raises(ReviewError, match="cannot edit kind"):
        apply_edit(record, {"kind": "adversarial"})
    with pytest.raises(ReviewError, match="edited question is empty"):
        apply_edit(record, {"question": "  "})
    back = apply_edit(apply_edit(record, {"answer": None}), {"answer": "seven days"})
    assert (back.kind, back.answer_start) == ("answerable", CONTEXT.index("seven days"))
