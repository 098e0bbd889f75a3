"""``guard.no_answer_threshold: auto``: the threshold chosen per model on the validation split."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tunesmith.config import ConfigError, RunConfig, parse_config
from tunesmith.data.formats.squad import import_squad
from tunesmith.data.schema import write_records
from tunesmith.errors import TunesmithError
from tunesmith.evaluate.harness import evaluate_run
from tunesmith.guard import Guard
from tunesmith.guard.no_answer import (
    FALLBACK_THRESHOLD,
    choose_threshold,
    no_answer_threshold,
)
from tunesmith.inference import load_predictor
from tunesmith.pipeline.run import _eval_inputs
from tunesmith.utils.layout import RunLayout


def test_the_threshold_with_the_best_f1_lies_between_the_two_kinds() -> None:
    # answerable questions (answered correctly) at p 0.6 and 0.7, unanswerable ones at 0.8, 0.9:
    # abstaining from 0.75 up is right everywhere; 0.5 would abstain on all four
    p = [0.6, 0.7, 0.8, 0.9]
    threshold, f1 = choose_threshold(p, [True] * 4, [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0])
    assert threshold == pytest.approx(0.75) and f1 == 1.0
    # only greedy abstentions can abstain: an answer stays an answer whatever its p
    threshold, f1 = choose_threshold(p, [False, False, True, True], [1.0, 1.0, 0.0, 0.0],
                                     [0.0, 0.0, 1.0, 1.0])
    assert threshold < 0.8 and f1 == 1.0


def test_ties_go_to_the_threshold_nearest_one_half_and_no_abstention_keeps_the_fallback() -> None:
    # every cut gives the same F1 (the answers are wrong either way): the one nearest 0.5
    threshold, _ = choose_threshold([0.2, 0.5, 0.9], [True] * 3, [0.0] * 3, [0.0] * 3)
    assert threshold == pytest.approx((0.2 + 0.5) / 2)
    assert choose_threshold([0.3], [False], [1.0], [0.0]) == (FALLBACK_THRESHOLD, 1.0)
    with pytest.raises(ValueError, match="one value of each"):
        choose_threshold([0.3], [True, False], [1.0], [0.0])


HEAD = "name: x\ndata: {sources: [{path: docs}]}\n"


def test_auto_is_valid_config_and_anything_else_names_the_key() -> None:
    config = parse_config(HEAD + "guard: {no_answer_threshold: auto}\n")
    assert config.guard.no_answer_threshold == "auto"
    assert no_answer_threshold(config.guard) == FALLBACK_THRESHOLD  # before any calibration
    assert no_answer_threshold(parse_config(HEAD).guard) is None
    for bad in ("sometimes", 1.5, 0):
        with pytest.raises(ConfigError, match="no_answer_threshold"):
            parse_config(HEAD + f"guard: {{no_answer_threshold: {bad}}}\n")


def _config(tmp_path: Path, threshold: str | float | None) -> RunConfig:
    return RunConfig.model_validate({
        "name": "auto", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(tmp_path)}], "split": {"val": 0.2, "test": 0.0}},
        "guard": {"no_answer_threshold": threshold},
        "eval": {"compare": ["base"], "max_new_tokens": 3, "batch_size": 2,
                 "dataset": str(tmp_path / "human.json")},
    })


def test_eval_chooses_on_validation_records_and_later_readers_get_the_choice(
        tmp_path: Path, run_with_base: Callable[[Path], Path], human_squad: Path) -> None:
    config = _config(tmp_path, "auto")
    run = RunLayout(run_with_base(config.run_dir))
    # no validation records yet: the fallback, said so
    metrics = evaluate_run(config, run)["base"]
    assert metrics["no_answer_threshold"] == FALLBACK_THRESHOLD
    assert metrics["no_answer_threshold_from"].startswith("fallback")
    assert not run.no_answer_thresholds.exists()
    write_records(run.val_jsonl, import_squad(human_squad).records)
    metrics = evaluate_run(config, run)["base"]
    chosen = json.loads(run.no_answer_thresholds.read_text())["base"]
    assert chosen["split"] == "val" and chosen["questions"] == 3
    assert 0.0 < chosen["threshold"] < 1.0 and 0.0 <= chosen["f1"] <= 100.0
    assert metrics["no_answer_threshold"] == chosen["threshold"]
    assert metrics["no_answer_threshold_from"].startswith("val (3 questions")
    # answer, serve and decide load the model through load_predictor, which reads the choice
    predictor = load_predictor(config, run, "base")
    assert predictor.no_answer_threshold == chosen["threshold"]
    assert no_answer_threshold(config.guard, predictor) == chosen["threshold"]
    # the no_answer_prob gate abstains at the same threshold, not at its seed default 0.5
    guard = Guard(config, run.root, label="base")
    assert guard.thresholds["no_answer_prob"] == chosen["threshold"]
    assert guard.sources["no_answer_prob"] == "calibrated"
    # the eval stage re-runs when the validation split changes
    assert "data/val.jsonl" in _eval_inputs(config, run.root)
    fixed = _config(tmp_path, 0.7)
    assert "data/val.jsonl" not in _eval_inputs(fixed, run.root)
    assert load_predictor(fixed, run, "base").no_answer_threshold is None
    assert evaluate_run(fixed, run)["base"]["no_answer_threshold_from"] == "config"


def test_a_hand_written_calibration_set_replaces_the_split(
        tmp_path: Path, run_with_base: Callable[[Path], Path], human_squad: Path) -> None:
    config = _config(tmp_path, "auto")
    config.guard.calibrate.dataset = str(human_squad)
    run = RunLayout(run_with_base(config.run_dir))
    # no validation split at all: the threshold still comes from the hand-written questions
    metrics = evaluate_run(config, run)["base"]
    chosen = json.loads(run.no_answer_thresholds.read_text())["base"]
    assert chosen["split"] == str(human_squad) and chosen["questions"] == 3
    assert metrics["no_answer_threshold"] == chosen["threshold"]
    inputs = _eval_inputs(config, run.root)
    assert f"guard.calibrate.dataset:{human_squad}" in inputs and "data/val.jsonl" not in inputs
    config.guard.calibrate.dataset = str(tmp_path / "missing.json")
    with pytest.raises(TunesmithError, match="guard.calibrate.dataset: .*missing.json"):
        evaluate_run(config, run)
