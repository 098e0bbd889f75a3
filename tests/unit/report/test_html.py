"""The run report: one self-contained, escaped HTML page, whatever the run folder holds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tunesmith import __version__
from tunesmith.report import write_report
from tunesmith.report.plots import learning_rate_png, loss_curve_png, metric_bars_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TRAIN_LOG = [
    {"step": 10, "epoch": 0.5, "loss": 2.3, "learning_rate": 1e-4},
    {"step": 20, "epoch": 1.0, "loss": 1.9, "learning_rate": 8e-5},
    {"step": 20, "epoch": 1.0, "eval_loss": 2.1},
    {"step": 40, "epoch": 2.0, "loss": 1.4, "learning_rate": 4e-5},
    {"step": 40, "epoch": 2.0, "eval_loss": 1.8},
    {"step": 60, "train_runtime": 100.0, "train_loss": 1.7, "total_flos": 1.5e12},
]

SCORES = {"exact": 30.0, "f1": 35.25, "total": 20, "HasAns_exact": 25.0, "HasAns_f1": 31.0,
          "HasAns_total": 16, "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 4}


def _write_jsonl(path: Path, rows: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def _section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, f"no {anchor} section"
    return match.group(1)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder with data, train and eval done."""
    run = tmp_path / "acme-support"
    _write_json(run / "data" / "stats.json", {
        "counts": {"train": 120, "val": 15, "test": 20},
        "kinds": {"train": {"answerable": 96, "unanswerable": 24},
                  "test": {"answerable": 16, "unanswerable": 4}},
        "documents": {"train": 20, "val": 3, "test": 3},
        "mean_context_tokens": 212.5,
    })
    _write_jsonl(run / "train" / "metrics.jsonl", TRAIN_LOG)
    tuned = {**SCORES, "exact": 40.0, "f1": 42.5, "extra_note": "kept"}
    _write_json(run / "eval" / "metrics.json", {"base": SCORES, "tuned": tuned})
    predictions = [
        {"id": "q1", "model": "tuned", "question": "Is <script>alert(1)</script> run?",
         "prediction": "No & never", "answers": ["no"], "kind": "answerable", "f1": 0.5,
         "exact": 0},
        {"id": "q2", "model": "base", "question": "Who wrote it?", "prediction": "",
         "answers": [], "kind": "unanswerable", "f1": 1.0, "exact": 1},
    ] + [
        {"id": f"r{i}", "model": "base", "question": f"filler {i}", "prediction": "x",
         "answers": ["y"], "kind": "answerable", "f1": 0.0, "exact": 0}
        for i in range(30)
    ]
    _write_jsonl(run / "eval" / "predictions.jsonl", predictions)
    for stage, started, seconds in [("data", "2025-01-01T10:00:00+00:00", 12.3),
                                    ("train", "2025-01-01T10:01:00+00:00", 3725.0),
                                    ("eval", "2025-01-01T11:03:00+00:00", 75.0)]:
        _write_json(run / stage / "manifest.json", {
            "stage": stage, "config_hash": f"{stage}0123456789abcdef" * 2, "started": started,
            "seconds": seconds, "versions": {"tunesmith": __version__},
        })
    return run


def test_report_is_written_beside_the_run_and_self_contained(run_dir: Path) -> None:
    path = write_report(run_dir)

    assert path == run_dir / "report.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "acme-support" in page and __version__ in page
    assert "data:image/png;base64," in _section(page, "training")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert not list(run_dir.glob(".report.html.*"))  # no temporary file left behind


def test_report_tables_show_the_numbers(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")

    evaluation = _section(page, "evaluation")
    assert "42.50" in evaluation and "35.25" in evaluation
    assert "+7.25" in evaluation  # tuned f1 - base f1
    assert "+10.00" in evaluation  # tuned exact - base exact
    assert "HasAns_f1" in evaluation and "kept" in evaluation
    data = _section(page, "data")
    assert all(v in data for v in ("120", "answerable", "unanswerable", "documents", "212.50"))
    stages = _section(page, "stages")
    assert stages.index(">data<") < stages.index(">train<") < stages.index(">eval<")
    assert "train0123456" in stages and "train0123456789abcdef" not in stages
    assert "12.3 s" in stages and "1 h 02 min" in stages
    training = _section(page, "training")
    assert "train_runtime" in training and "1.5e+12" in training


def test_user_text_is_escaped(run_dir: Path) -> None:
    page = write_report(run_dir).read_text(encoding="utf-8")

    examples = _section(page, "examples")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in examples
    assert "No &amp; never" in examples
    assert "<script>" not in page


def test_examples_are_capped_per_model(run_dir: Path) -> None:
    examples = _section(write_report(run_dir).read_text(encoding="utf-8"), "examples")

    assert "(20 of 31)" in examples and "(1 of 1)" in examples
    assert examples.index(">base ") < examples.index(">tuned ")
    assert "filler 18" in examples and "filler 19" not in examples


def test_missing_stages_say_not_run_yet(run_dir: Path, tmp_path: Path) -> None:
    for name in ("metrics.json", "predictions.jsonl", "manifest.json"):
        (run_dir / "eval" / name).unlink()

    page = write_report(run_dir).read_text(encoding="utf-8")

    assert "not run yet" in _section(page, "evaluation")
    assert "not run yet" in _section(page, "examples")
    assert "not run yet" not in _section(page, "training")

    empty = tmp_path / "empty-run"
    empty.mkdir()
    page = write_report(empty).read_text(encoding="utf-8")
    for anchor in ("stages", "data", "training", "evaluation", "examples"):
        assert "not run yet" in _section(page, anchor)


def test_malformed_inputs_become_notes_not_crashes(run_dir: Path) -> None:
    metrics = run_dir / "train" / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"step": 70, "loss": \n[1, 2]\n\n', encoding="utf-8")
    (run_dir / "data" / "stats.json").write_text("{not json", encoding="utf-8")
    _write_json(run_dir / "eval" / "metrics.json", {"tuned": {"f1": 42.5, "exact": 40}})

    page = write_report(run_dir).read_text(encoding="utf-8")

    training = _section(page, "training")
    assert "Skipped 2 malformed lines" in training
    assert "data:image/png;base64," in training
    assert "could not read stats.json" in _section(page, "data")
    evaluation = _section(page, "evaluation")
    assert "42.50" in evaluation and "No base scores" in evaluation


def test_report_can_be_written_elsewhere(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "r.html"

    assert write_report(run_dir, out) == out
    assert out.is_file() and not (run_dir / "report.html").exists()


def test_a_missing_run_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        write_report(tmp_path / "nope")


def test_plots_are_png_bytes_or_none() -> None:
    for png in (loss_curve_png(TRAIN_LOG), learning_rate_png(TRAIN_LOG),
                metric_bars_png({"base": SCORES, "tuned": SCORES})):
        assert png is not None and png.startswith(PNG_MAGIC)
    assert loss_curve_png([{"step": 1, "epoch": 0.1}]) is None
    assert learning_rate_png([{"step": 1, "loss": 2.0}]) is None
    assert metric_bars_png({}) is None
    # Only eval loss logged (e.g. a resumed run): still a curve.
    assert loss_curve_png([{"step": 5, "eval_loss": 1.0}]) is not None


def test_examples_show_base_and_tuned_side_by_side(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "pair"
    rows = []
    for i in range(14):
        answers = [] if i % 3 == 0 else [f"gold {i}"]
        for model, said in (("base", f"a long base sentence {i}"), ("tuned", f"span {i}")):
            rows.append({"id": f"q{i}", "model": model, "question": f"question {i}?",
                         "context": f"context <b>{i}</b> excerpt", "answers": answers,
                         "generated": said, "prediction": said, "kind": "answerable",
                         "f1": 0.0, "exact": 0})
    _write_jsonl(run / "eval" / "predictions.jsonl", rows)
    page = write_report(run).read_text(encoding="utf-8")
    table = page.split("base and tuned side by side", 1)[1].split("</table>", 1)[0]
    assert "(10 of 14)" in table
    assert table.count("<tr>") == 11  # the header and ten examples
    assert "context &lt;b&gt;1&lt;/b&gt; excerpt" in table  # escaped
    assert "a long base sentence 1" in table and "span 1" in table
    assert "(no answer)" in table  # unanswerable questions are among the ten
