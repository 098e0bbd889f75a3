"""Difficulty grading, balancing to the seed's shares, token lengths, and the data report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tunesmith.config.data_quality import BalanceConfig
from tunesmith.data.report import write_data_report
from tunesmith.data.schema import QARecord
from tunesmith.data.stats import (
    answerability_class,
    balance,
    balance_split,
    estimate_tokens,
    grade_difficulty,
    length_report,
    token_lengths,
)

CONTEXT = ("The broker listens on port 7420 by default. Retention is seven days unless "
           "configured otherwise. Because segments are immutable, compaction rewrites them.")


def _rec(rid: str, kind: str = "answerable", difficulty: str = "simple",
         answer: str | None = "7420", question: str = "Which port does the broker listen on?",
         contexts: list[str] | None = None) -> QARecord:
    return QARecord(id=rid, question=question, contexts=contexts or [CONTEXT],
                    answer=None if kind in ("unanswerable", "adversarial") else answer,
                    kind=kind, difficulty=difficulty)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (_rec("a"), "simple"),  # restates the answer's sentence
        (_rec("b", question="What number should a client dial to reach the service?"),
         "inferential"),  # a paraphrase: few shared content words
        (_rec("c", answer="compaction rewrites them",
              question="Why does compaction rewrite segments?"), "inferential"),
        (_rec("d", kind="multihop", contexts=[CONTEXT, "Port 7420 is in the DMZ."]),
         "multihop"),
        (_rec("e", kind="unanswerable", question="Which port does the broker use for TLS?"),
         "inferential"),  # a near miss: looks answerable
        (_rec("f", kind="unanswerable", question="Who founded the company in Oslo?"), "simple"),
        (_rec("g", kind="adversarial"), "inferential"),
    ],
)
def test_grade_difficulty(record: QARecord, expected: str) -> None:
    assert grade_difficulty(record) == expected


def _population(counts: dict[tuple[str, str], int]) -> list[QARecord]:
    records = []
    for (kind, difficulty), n in counts.items():
        records += [_rec(f"{kind}-{difficulty}-{i}", kind, difficulty) for i in range(n)]
    return records


def test_balance_drops_into_the_seed_ranges_and_reports_before_after() -> None:
    # 80% answerable, 15% unanswerable, 5% ambiguous; difficulty 70 / 20 / 10
    records = _population({
        ("answerable", "simple"): 600, ("answerable", "inferential"): 150,
        ("multihop", "multihop"): 50, ("unanswerable", "simple"): 100,
        ("unanswerable", "inferential"): 50, ("adversarial", "inferential"): 0,
        ("ambiguous", "multihop"): 50,
    })
    config = BalanceConfig(max_drop=0.6)
    result = balance_split(records, config, seed=0)
    kept = result.records
    n = len(kept)
    classes = Counter(answerability_class(r) for r in kept)
    levels: Counter[str] = Counter(r.difficulty for r in kept)
    for name, (low, high) in config.answerability.items():
        assert low - 1e-9 <= classes[name] / n <= high + 1e-9, (name, classes[name] / n)
    for name, target in config.difficulty.items():
        assert abs(levels[name] / n - target) <= config.difficulty_tolerance + 1e-9, name
    assert result.report["answerability"]["before"]["answerable"] == 0.8
    assert result.report["dropped"] == len(records) - n == len(result.dropped)
    assert all(r.stage == "balance" and r.reason for r in result.dropped)
    # never more than max_drop, and only dropping: every kept record was an input
    assert len(result.dropped) <= 0.6 * len(records)
    assert {r.id for r in kept} <= {r.id for r in records}


def test_balance_keeps_a_balanced_split_and_respects_max_drop() -> None:
    balanced = _population({("answerable", "simple"): 28, ("answerable", "inferential"): 24,
                            ("multihop", "multihop"): 18, ("unanswerable", "simple"): 12,
                            ("unanswerable", "inferential"): 10,
                            ("ambiguous", "inferential"): 1, ("adversarial", "multihop"): 7})
    result = balance_split(balanced, BalanceConfig(), seed=0)
    assert result.dropped == []
    skewed = _population({("answerable", "simple"): 95, ("unanswerable", "simple"): 5})
    result = balance_split(skewed, BalanceConfig(max_drop=0.1), seed=0)
    assert len(result.dropped) == 10  # wanted more, capped
    assert "ambiguous" in result.report["missing"] and "multihop" in result.report["missing"]


def test_balance_regrades_and_keeps_the_generator_label() -> None:
    record = _rec("x", difficulty="multihop")  # the generator's label; features say simple
    splits, _, report = balance({"train": [record]}, BalanceConfig(enabled=False), seed=0)
    graded = splits["train"][0]
    assert graded.difficulty == "simple"
    assert graded.provenance["difficulty_generator"] == "multihop"
    assert report["train"]["difficulty"]["simple"] == 1.0


def test_token_lengths_against_the_seed_ranges(tmp_path: Path) -> None:
    records = [_rec("short", question="Port?"), _rec("ok")]
    measured = token_lengths(records, estimate_tokens)
    assert measured["question"] == [("short", 2), ("ok", 10)]
    assert len(measured["context"]) == 2 and len(measured["answer"]) == 2
    report = length_report(measured, BalanceConfig(), "estimate")
    assert report["question"]["below"] == 1 and report["question"]["outliers"] == ["short"]
    assert report["question"]["within_range"] == 0.5
    assert report["answer"]["below"] == 2  # "7420" is 1 token; the seed expects 5-50

    stats = {"counts": {"train": 2}, "kinds": {"train": {"answerable": 2}},
             "lengths": report, "quality": {"similarity": {"threshold": 0.3}},
             "rejected_by_stage": {"dedup": 3}}
    lengths = {field: [n for _, n in rows] for field, rows in measured.items()}
    path = write_data_report(tmp_path, "demo", stats, lengths, {"answerable": [0.5, 0.6]})
    html = path.read_text()
    assert html.count("data:image/png;base64,") == 2  # length histograms + similarity
    assert "question" in html and "dedup" in html


def test_unreachable_difficulty_targets_cost_no_records() -> None:
    # answerability in range (70/20/10), difficulty 90% simple: out of reach within max_drop
    records = _population({("answerable", "simple"): 63, ("answerable", "inferential"): 7,
                           ("unanswerable", "simple"): 18, ("unanswerable", "inferential"): 2,
                           ("adversarial", "simple"): 9, ("adversarial", "multihop"): 1})
    result = balance_split(records, BalanceConfig(), seed=0)
    assert result.dropped == []
    assert result.report["difficulty"]["balanced"] is False
    assert result.report["difficulty"]["drops_needed"] > 0.3 * len(records)
