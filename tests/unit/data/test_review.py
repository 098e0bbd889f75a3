"""Review rounds: export (CSV, Label Studio/Argilla JSON), import (CSV, Label Studio JSON and
JSON-MIN exports), rates against the seed's ranges, application to the splits, bad files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tunesmith.config.data_quality import ReviewConfig
from tunesmith.data.review import (
    ReviewError,
    apply_review,
    export_review,
    in_play,
    load_rounds,
    read_decisions,
    review_rates,
    save_decisions,
)
from tunesmith.data.schema import QARecord

ROUNDS = list(ReviewConfig().expected)


def _records(n: int = 10) -> list[QARecord]:
    return [QARecord(id=f"q{i}", question=f"Question {i}?", contexts=[f"Context {i} says 42."],
                     answer="42", answer_start=len(f"Context {i} says "))
            for i in range(n)]


def test_csv_round_trip_rates_and_application(tmp_path: Path) -> None:
    records = _records()
    (path,) = export_review(records, tmp_path / "r1.csv", "correctness", "csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [r.id for r in records]
    for row in rows[:3]:
        row.update(decision="reject", reason="wrong answer", reviewer="ana")
    for row in rows[3:9]:
        row["decision"] = "accept"
    # rows[9] left blank: not reviewed
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    decisions = read_decisions(path, "correctness")
    assert len(decisions) == 9
    review_dir = tmp_path / "review"
    save_decisions(review_dir, "correctness", decisions)
    decided = load_rounds(review_dir, ROUNDS)
    rates = review_rates(decided, ReviewConfig().expected)["rounds"]["correctness"]
    assert rates == {"reviewed": 9, "rejected": 3, "rate": 0.3333, "expected": [0.2, 0.3],
                     "within": False}

    # round 2 reviews only what round 1 kept
    assert [r.id for r in in_play(records, decided, "relevance", ROUNDS)] == [
        f"q{i}" for i in range(3, 10)]
    splits, dropped = apply_review({"train": records[:5], "test": records[5:]}, decided)
    assert [r.id for r in splits["train"]] == ["q3", "q4"]
    assert len(splits["test"]) == 5
    assert [(r.stage, r.reason) for r in dropped][0] == (
        "review", "rejected in review round 'correctness': wrong answer")


def test_label_studio_json_export_and_import(tmp_path: Path) -> None:
    records = _records(3)
    out, config = export_review(records, tmp_path / "tasks.json", "relevance", "json")
    tasks = json.loads(out.read_text())
    assert tasks[0]["question"] == "Question 0?" and tasks[0]["round"] == "relevance"
    assert '<Choices name="decision"' in config.read_text()

    def annotation(choice: str, when: str, reason: str = "") -> dict[str, object]:
        result: list[dict[str, object]] = [
            {"from_name": "decision", "to_name": "question", "type": "choices",
             "value": {"choices": [choice]}}]
        if reason:
            result.append({"from_name": "reason", "to_name": "question", "type": "textarea",
                           "value": {"text": [reason]}})
        return {"id": 1, "result": result, "was_cancelled": False, "updated_at": when,
                "completed_by": 7}

    exported = [
        {"id": 1, "data": tasks[0], "annotations": [
            annotation("accept", "2026-01-01T10:00:00Z"),
            annotation("reject", "2026-01-02T10:00:00Z", "off-topic context")]},  # latest wins
        {"id": 2, "data": tasks[1], "annotations": []},  # not annotated
        {"id": 3, "data": tasks[2], "annotations": [annotation("accept", "2026-01-01")]},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported))
    decisions = read_decisions(path, "relevance")
    assert [(d.id, d.decision, d.reason) for d in decisions] == [
        ("q0", "reject", "off-topic context"), ("q2", "accept", "")]

    minimal = tmp_path / "min.json"
    minimal.write_text(json.dumps([{**tasks[1], "decision": "reject", "reason": "dup"}]))
    assert [(d.id, d.decision) for d in read_decisions(minimal, "relevance")] == [
        ("q1", "reject")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.csv", "id,question\nq1,x\n", "missing column(s) decision"),
        ("bad2.csv", "id,decision\nq1,maybe\n", "bad2.csv:2: decision 'maybe'"),
        ("bad.json", "[{\"id\": 1,", "not valid JSON"),
        ("bad2.json", "[{\"data\": {\"question\": \"x\"}}]", "item 0: key 'data.id'"),
        ("bad.txt", "x", "expected a .csv or a .json"),
    ],
)
def test_bad_review_files_name_the_problem(tmp_path: Path, name: str, content: str,
                                           message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ReviewError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_decisions(path, "correctness")
