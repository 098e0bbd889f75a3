"""The report's Decide section: from decision.json (and outcome.json after training)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tunesmith.report import render_report
from tunesmith.utils.layout import RunLayout

DECISION = {
    "run": "r", "created": "2026-01-01T00:00:00+00:00", "model": "tiny",
    "questions": {"split": "val", "count": 4, "ids": ["a"], "rag_count": 3, "left_out_of_rag": 1},
    "target_f1": 75.0, "min_gap": 15.0,
    "baselines": {
        "zero_shot": {"questions": 4, "exact": 10.0, "f1": 21.5, "hallucination_rate": 0.5,
                      "false_abstain_rate": 0.0, "p50_ms": 120.0, "p95_ms": 180.0,
                      "format_adherence": 0.25},
        "rag_bm25": {"questions": 3, "f1": 33.3, "hallucination_rate": 1.0, "p50_ms": 150.0,
                     "p95_ms": 210.0, "recall_at_k": 0.67},
    },
    "closed_book": {"share": 0.0, "questions": 3},
    "criteria": [{"name": "performance_gap", "condition": "prompting <b>short</b>",
                  "value": 53.5, "threshold": "> 15", "passed": True, "role": "rule",
                  "source": "seed"},
                 {"name": "data_available", "condition": "examples", "value": 8.0,
                  "threshold": ">= 500", "passed": False, "role": "rule", "source": "seed"}],
    "recommendation": "prompt", "reasons": ["the seed's rule does not hold"],
    "cost": {"training": {"gpu": "a100-80gb", "gpu_hours": 0.01, "usd_per_hour": 3.67,
                          "usd": 0.04},
             "annotation": {"examples": 500, "usd_low": 1500.0, "usd_high": 5000.0},
             "one_off_usd": {"low": 1500.04, "high": 5000.04},
             "per_1k_answers_usd": {"in_house": 0.01, "in_house_hardware": "rtx3060",
                                    "apis": {"gpt-4o": 2.5}},
             "expected_gain_f1": 41.7,
             "break_even_answers": {"gpt-4o": {"low": 600.0, "high": 2000.0}}},
}


def _section(page: str) -> str:
    match = re.search(r'<section id="decide">(.*?)</section>', page, re.S)
    assert match
    return match.group(1)


def test_without_a_decision_the_section_says_how_to_make_one(tmp_path: Path) -> None:
    section = _section(render_report(tmp_path))
    assert "not run yet" in section and "tunesmith decide" in section


def test_the_section_shows_baselines_chart_criteria_and_cost(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    layout.decide_dir.mkdir()
    layout.decision.write_text(json.dumps(DECISION))
    section = _section(render_report(tmp_path))
    assert "Recommendation: prompt" in section
    assert "zero_shot" in section and "21.50" in section and "0.67" in section
    assert section.count('src="data:image/png;base64,') == 1  # the bar chart
    assert "&lt;b&gt;short&lt;/b&gt;" in section  # escaped
    assert "does not hold" in section and "600-2,000 answers" in section
    assert "Not checked against the outcome yet" in section

    layout.decide_outcome.write_text(json.dumps({
        "models": {"tuned": {"f1": 48.0, "questions": 4}}, "verdict": "did not hold: ...",
        "decision_created": DECISION["created"], "same_questions": True}))
    section = _section(render_report(tmp_path))
    assert "tuned" in section and "48.00" in section and "did not hold" in section
    assert "earlier decision" not in section


def test_a_damaged_decision_is_a_note(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    layout.decide_dir.mkdir()
    layout.decision.write_text("{not json")
    assert "could not read decision.json" in _section(render_report(tmp_path))
