from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.manifest import Manifest
from tunesmith.utils.layout import RunLayout


def test_every_path_sits_under_the_run_folder(tmp_path: Path) -> None:
    run = RunLayout(tmp_path / "runs" / "demo")
    assert run.split("test") == run.test_jsonl == tmp_path / "runs/demo/data/test.jsonl"
    assert run.train_jsonl.name == "train.jsonl" and run.val_jsonl.name == "val.jsonl"
    assert run.splits_json == run.data_dir / "splits.json"
    assert run.adapter == run.root / "train" / "adapter"
    assert run.checkpoints == run.root / "train" / "checkpoints"
    assert run.answerability == run.task_dir("answerability") == run.root / "train/answerability"
    assert run.train_metrics == run.root / "train" / "metrics.jsonl"
    assert run.thresholds == run.root / "guard" / "thresholds.json"
    assert run.calibration == run.root / "guard" / "calibration.json"
    assert run.eval_metrics == run.root / "eval" / "metrics.json"
    assert run.predictions == run.root / "eval" / "predictions.jsonl"
    assert run.plan_json == run.root / "plan" / "plan.json"
    assert run.lr_find_json == run.root / "plan" / "lr_find.json"
    assert run.report == run.root / "report.html"
    assert run.stage_dir("eval") == run.eval_dir
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.root = tmp_path  # type: ignore[misc]


def test_of_config_and_equality(tmp_path: Path) -> None:
    config = RunConfig.model_validate({"name": "n", "output_dir": str(tmp_path),
                                       "data": {"sources": [{"path": str(tmp_path)}]}})
    assert RunLayout.of(config) == RunLayout(tmp_path / "n") == RunLayout(str(tmp_path / "n"))


def test_base_model_reads_the_model_stage_manifest(tmp_path: Path) -> None:
    run = RunLayout(tmp_path)
    with pytest.raises(TunesmithError, match="model stage has not run"):
        run.base_model()
    run.model_dir.mkdir()
    Manifest(stage="model", config_hash="h", inputs={},
             details={"base_model": "/models/base"}).write(run.model_dir)
    assert run.base_model() == "/models/base"
