"""The data card (Hugging Face layout) and the size tiers, on a hand-made built run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli.main import app
from tunesmith.config import RunConfig, load_config
from tunesmith.data.card import read_history, write_card_for_run, write_data_card
from tunesmith.data.schema import QARecord, write_records
from tunesmith.data.size import place

runner = CliRunner()


def make_run(root: Path, n_train: int = 3, extra: str = "") -> RunConfig:
    """A config and a built data folder with ``n_train`` + 2 records."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "ports.md").write_text("The broker listens on port 7420.\n")
    (root / "tunesmith.yaml").write_text(
        f"name: demo\noutput_dir: {root / 'runs'}\ndata:\n  sources: [{{path: docs}}]\n"
        f"  card: {{license: cc-by-4.0, description: Ports of the broker.}}\n{extra}",
        encoding="utf-8")
    config = load_config(root / "tunesmith.yaml", [])
    out = config.run_dir / "data"
    ctx = "The broker listens on port 7420."
    records = [QARecord(id=f"q{i}", question=f"Which port {i}?", contexts=[ctx], answer="7420",
                        answer_start=27) for i in range(n_train)]
    write_records(out / "train.jsonl", records)
    write_records(out / "val.jsonl", [QARecord(id="u1", question="Who?", contexts=[ctx],
                                               kind="unanswerable")])
    write_records(out / "test.jsonl", records[:1])
    stats = {"counts": {"train": n_train, "val": 1, "test": 1},
             "kinds": {"train": {"answerable": n_train}, "val": {"unanswerable": 1},
                       "test": {"answerable": 1}},
             "documents": {"train": 1, "val": 0, "test": 0},
             "generated_by": {"train": {"rules": n_train}},
             "rejected": 2,
             "skipped": [{"stage": "ingest", "path": "docs/bad.json", "line": 3,
                          "reason": "not valid JSON"}],
             "pii_redactions": {},
             "semantic": {"mean_similarity": 0.61234, "dropped": 4}}
    (out / "stats.json").write_text(json.dumps(stats))
    return config


def test_card_has_front_matter_and_every_section(tmp_path: Path) -> None:
    config = make_run(tmp_path)
    stats = json.loads((config.run_dir / "data" / "stats.json").read_text())
    path = write_data_card(config.run_dir / "data", stats, config,
                           extra_sections={"Data report": "See report.html."})
    text = path.read_text()
    assert path.name == "README.md" and text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["question-answering"]
    assert meta["size_categories"] == ["n<1K"]
    assert "unanswerable-questions" in meta["tags"]
    assert meta["configs"][0]["data_files"][1] == {"split": "validation", "path": "val.jsonl"}
    for heading in ("# Dataset Card for demo", "## Provenance", "## Annotation method",
                    "## Statistics", "## Personal and Sensitive Information", "## Data report",
                    "## Update history", "## Licensing"):
        assert heading in text
    assert "| `docs` | folder: md, txt, html, pdf |" in text
    assert "| docs/bad.json | 3 | not valid JSON |" in text
    assert "| semantic.mean_similarity | 0.6123 |" in text
    assert "| train | 3 | 3 | 0 |" in text  # split, records, answerable, unanswerable


def test_history_grows_only_when_the_data_changes(tmp_path: Path) -> None:
    config = make_run(tmp_path)
    write_card_for_run(config)
    write_card_for_run(config)
    assert [h["event"] for h in read_history(config.run_dir / "data")] == ["card"]
    make_run(tmp_path, n_train=5)
    write_card_for_run(config, note="more ports")
    history = read_history(config.run_dir / "data")
    assert [(h["records"], h["note"]) for h in history] == [(5, ""), (7, "more ports")]
    assert "more ports" in (config.run_dir / "data" / "README.md").read_text()


def test_card_command(tmp_path: Path) -> None:
    config = make_run(tmp_path)
    done = runner.invoke(app, ["data", "card", str(tmp_path / "tunesmith.yaml"), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["card"] == str(config.run_dir / "data" / "README.md")
    (config.run_dir / "data" / "stats.json").unlink()
    done = runner.invoke(app, ["data", "card", str(tmp_path / "tunesmith.yaml")])
    assert done.exit_code == 1 and "data build" in done.output


@pytest.mark.parametrize(("examples", "tier", "next_missing"), [
    (0, "below-poc", 500), (499, "below-poc", 1), (500, "poc", 4_500), (5_000, "mvp", 15_000),
    (20_000, "enterprise", None), (150_000, "enterprise", None),
])
def test_size_tiers_follow_the_seed(examples: int, tier: str, next_missing: int | None) -> None:
    report = place(examples)
    assert report["tier"] == tier
    assert report["annotation_cost"] == {"per_example": [3.0, 10.0], "low": 3.0 * examples,
                                         "high": 10.0 * examples}
    assert (report["next_tier"] or {}).get("missing") == next_missing


def test_size_command_on_a_run_and_a_file(tmp_path: Path) -> None:
    make_run(tmp_path, extra="  size: {cost_per_example_low: 4, cost_per_example_high: 8}\n")
    done = runner.invoke(app, ["data", "size", str(tmp_path / "tunesmith.yaml"), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["examples"] == 5 and report["splits"] == {"train": 3, "val": 1, "test": 1}
    assert report["annotation_cost"]["high"] == 40
    assert [t["status"] for t in report["tiers"]] == ["495 short", "4,995 short",
                                                      "19,995 short"]
    done = runner.invoke(app, ["data", "size",
                               str(tmp_path / "runs" / "demo" / "data" / "train.jsonl")])
    assert done.exit_code == 0 and "below Proof-of-Concept" in done.output
