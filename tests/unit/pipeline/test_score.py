"""``tunesmith eval`` scores what the run holds: it never re-runs data, model or training
(``tunesmith run`` does), and it refuses a run without a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.pipeline import run as pipeline
from tunesmith.pipeline.score import NothingToScoreError, score_run
from tunesmith.utils.layout import RunLayout

QUIET = Console(file=None, quiet=True)


def _config(tmp_path: Path, **overrides: Any) -> RunConfig:
    raw: dict[str, Any] = {"name": "x", "model": {"name": "tiny"},
                           "data": {"sources": [{"path": "docs"}]}, "output_dir": str(tmp_path)}
    raw.update(overrides)
    return RunConfig.model_validate(raw)


@pytest.fixture
def three_stages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []

    def stage(name: str, output: str) -> pipeline.Stage:
        def body(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
            ran.append(name)
            (RunLayout(run_dir).stage_dir(name) / output).write_text(name)
            return {}
        sections = {"train": ("train", "seed"), "eval": ("eval",)}.get(name, ("data", "seed"))
        return pipeline.Stage(name, sections, (output,), lambda config, run_dir: {}, body)

    monkeypatch.setattr(pipeline, "STAGES", (stage("data", "train.jsonl"),
                                             stage("train", "adapter"),
                                             stage("eval", "metrics.json")))
    monkeypatch.setattr(pipeline, "STAGE_NAMES", ("data", "train", "eval"))
    return ran


def test_eval_refuses_a_run_without_a_trained_model(tmp_path: Path,
                                                    three_stages: list[str]) -> None:
    with pytest.raises(NothingToScoreError, match=r"no trained model.*tunesmith train"):
        score_run(_config(tmp_path), console=QUIET, report=False)
    assert three_stages == []  # nothing was built to make up for it


def test_eval_scores_without_rerunning_stale_stages(tmp_path: Path,
                                                    three_stages: list[str]) -> None:
    pipeline.run_pipeline(_config(tmp_path), until="eval", console=QUIET, report=False)
    assert three_stages == ["data", "train", "eval"]
    three_stages.clear()
    changed = _config(tmp_path, seed=1, eval={"max_new_tokens": 7})  # data and train now stale
    recorded = Console(record=True, width=200)
    assert score_run(changed, console=recorded, report=False) == {"eval": "ran"}
    assert three_stages == ["eval"]
    assert "the trained model was made with other" in recorded.export_text()
    # `run` with the same config rebuilds the stale stages first
    three_stages.clear()
    pipeline.run_pipeline(changed, until="eval", console=QUIET, report=False)
    assert three_stages[:2] == ["data", "train"]


def test_eval_skips_an_up_to_date_score_unless_forced(tmp_path: Path,
                                                      three_stages: list[str]) -> None:
    config = _config(tmp_path)
    pipeline.run_pipeline(config, until="eval", console=QUIET, report=False)
    three_stages.clear()
    assert score_run(config, console=QUIET, report=False) == {"eval": "skipped"}
    assert score_run(config, force=True, console=QUIET, report=False) == {"eval": "ran"}
    assert three_stages == ["eval"]
