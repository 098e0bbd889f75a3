"""Every evaluation path scores ``eval.dataset`` when it is set (issue 11): here the plain one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.evaluate.harness import evaluate_run
from tunesmith.pipeline.run import _eval_inputs
from tunesmith.utils.layout import RunLayout


def _config(tmp_path: Path, dataset: str | None) -> RunConfig:
    return RunConfig.model_validate({
        "name": "evalset", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(tmp_path)}], "split": {"val": 0.2, "test": 0.0}},
        "eval": {"compare": ["base"], "max_new_tokens": 3, "batch_size": 2,
                 "dataset": dataset},
    })


def test_the_plain_path_scores_eval_dataset_without_a_test_split(
        tmp_path: Path, run_with_base: Callable[[Path], Path], human_squad: Path) -> None:
    config = _config(tmp_path, str(human_squad))
    run = RunLayout(run_with_base(config.run_dir))
    assert not run.test_jsonl.exists()
    metrics = evaluate_run(config, run)
    base = metrics["base"]
    assert base["total"] == 3 and base["eval_set"] == str(human_squad)
    for key in ("exact", "f1", "HasAns_f1", "NoAns_f1", "hallucination_rate",
                "false_abstain_rate"):
        assert 0.0 <= base[key] <= 100.0, key
    assert json.loads(run.eval_metrics.read_text())["base"]["total"] == 3
    rows = [json.loads(line) for line in run.predictions.read_text().splitlines()]
    assert {r["id"] for r in rows} == {"q1", "q2", "q3"}
    # the eval stage's inputs follow the dataset, not the (empty) split
    inputs = _eval_inputs(config, run.root)
    assert inputs[f"eval.dataset:{config.eval.dataset}"]
    assert "data/test.jsonl" not in inputs


def test_an_empty_eval_set_is_a_user_error_naming_the_file(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    config = _config(tmp_path, str(tmp_path / "empty.jsonl"))
    run = RunLayout(run_with_base(config.run_dir))
    with pytest.raises(TunesmithError, match="empty.jsonl: no records to evaluate"):
        evaluate_run(config, run)
    split_config = _config(tmp_path, None)
    run.test_jsonl.parent.mkdir(parents=True, exist_ok=True)
    run.test_jsonl.write_text("", encoding="utf-8")
    with pytest.raises(TunesmithError, match=r"test\.jsonl.*no records to evaluate.*eval\.dataset"):
        evaluate_run(split_config, run)
