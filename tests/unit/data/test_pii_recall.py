"""PII recall measured on the labelled ticket set: the set's labels, the matching rule, and
recall >= 95% per type through the redactor's own path (a real measurement: it can fail)."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from tunesmith.config.data_io import PIIConfig
from tunesmith.data.quality.pii import PIIRedactor
from tunesmith.data.quality.pii_recall import (
    GROUPS,
    LabelledText,
    Span,
    group_of,
    load_labelled,
    measure_recall,
    score_findings,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pii"
TICKETS = FIXTURES / "tickets.jsonl"


@pytest.fixture(scope="module")
def labelled() -> list[LabelledText]:
    return load_labelled(TICKETS)


def test_gold_spans_sit_at_their_offsets_and_the_set_is_current(
        labelled: list[LabelledText]) -> None:
    rows = [json.loads(line) for line in TICKETS.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        for span in [*row["entities"], *row["near_misses"]]:
            assert row["text"][span["start"]:span["end"]] == span["text"], (row["id"], span)
    spec = importlib.util.spec_from_file_location("make_tickets", FIXTURES / "make_tickets.py")
    assert spec and spec.loader
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert TICKETS.read_text(encoding="utf-8") == maker.render()  # regenerated, not hand-edited
    groups = Counter(group_of(s.label) for item in labelled for s in item.entities)
    assert sum(groups.values()) >= 200 and set(groups) == set(GROUPS)
    assert sum(len(item.near_misses) for item in labelled) >= 50


def test_a_span_off_its_offsets_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "text": "Call Ann now", "entities": [
        {"type": "PERSON", "start": 4, "end": 8, "text": "Ann"}]}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1: PERSON 'Ann'"):
        load_labelled(bad)


def test_matching_rule_is_type_aware_and_needs_half_the_characters() -> None:
    text = "Maria Garcia, 4111 1111 1111 1111, SSN 536-22-8147, order 100234871"

    def span(label: str, part: str) -> Span:
        start = text.index(part)
        return Span(label, start, start + len(part), part)

    gold = LabelledText("x", text, (
        span("PERSON", "Maria Garcia"), span("CREDIT_CARD", "4111 1111 1111 1111"),
        span("US_SSN", "536-22-8147")), (span("order", "100234871"),))
    report = score_findings([gold], [[
        span("PERSON", "Maria"),  # 5 of 12 characters: a miss, but a correct finding
        span("UK_NHS", "4111 1111 1111 1111"),  # the right characters, the wrong type: a miss
        span("US_SSN", "536-22-8147"),
        span("PHONE_NUMBER", "100234871"),  # on the near miss: a false positive
    ]])
    assert (report.scores["PERSON"].found, report.scores["PERSON"].correct) == (0, 1)
    assert report.scores["CREDIT_CARD"].found == 0
    assert report.scores["CREDIT_CARD"].found_any_type == 1
    assert report.scores["NATIONAL_ID"].findings == 2
    assert report.scores["NATIONAL_ID"].correct == 1
    assert report.scores["US_SSN"].recall == 1.0
    assert report.overall.entities == 3 and report.overall.found == 1
    assert report.overall.findings == 4 and report.overall.correct == 2
    assert report.near_misses_hit == 1
    assert [s.label for _, s in report.false_positives] == ["UK_NHS", "PHONE_NUMBER"]


def test_recall_is_at_least_95_percent_per_type(labelled: list[LabelledText]) -> None:
    report = measure_recall(PIIRedactor(PIIConfig(enabled=True)), labelled)
    recall = {name: round(report.scores[name].recall, 3) for name in GROUPS}
    missed = [(i, s.label, s.text) for i, s in report.missed]
    assert all(r >= 0.95 for r in recall.values()), (recall, missed)
    # precision is reported in docs/benchmarks.md; this only catches a collapse
    assert report.overall.precision >= 0.9, report.false_positives
