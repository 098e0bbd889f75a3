"""The seed's rules, the user's values winning, and 'auto' filled before training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import parse_config
from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.hparams import (
    Hardware,
    dropout_for,
    epochs_for,
    label_smoothing_for,
    plan_hyperparameters,
    weight_decay_for,
)
from tunesmith.plan.memory import TrainSetup
from tunesmith.plan.planner import Plan, build_plan, resolve_plan, setup_for

SHAPE = ModelShape(name="t", hidden=128, layers=2, heads=4, kv_heads=4, intermediate=384,
                   vocab=1000)


def test_regularisation_and_epochs_follow_the_seed() -> None:
    assert dropout_for(400) == 0.5 and dropout_for(5000) == 0.3 and dropout_for(60000) == 0.1
    assert 0.1 < dropout_for(15000) < 0.3
    assert weight_decay_for(1000) == 0.01 and weight_decay_for(100000) == 0.05
    assert label_smoothing_for(1000) == 0.2 and label_smoothing_for(100000) == 0.1
    assert epochs_for(300) == 1 and epochs_for(3500) == 4 and epochs_for(50000) == 10


def test_user_values_win_and_batch_fits_memory() -> None:
    kwargs = dict(n_train=2000, shape=SHAPE, setup=TrainSetup(method="lora", seq_len=256,
                                                              device="cpu", precision="fp32"),
                  hardware=Hardware("cpu", 64.0, False), defaults={}, target_effective_batch=16,
                  max_batch=64, method_default_lr=2e-4)
    plan = {d.name: d for d in plan_hyperparameters(user={"epochs": 7}, **kwargs)}  # type: ignore[arg-type]
    assert plan["epochs"].value == 7 and plan["epochs"].source == "user"
    assert plan["epochs"].suggested == 2
    assert plan["batch_size"].value == 16 and plan["gradient_accumulation_steps"].value == 1
    assert plan["max_grad_norm"].value == 1.0 and plan["precision"].value == "fp32"
    tiny = dict(kwargs, hardware=Hardware("cuda", 0.02, True))
    small = {d.name: d for d in plan_hyperparameters(user={}, **tiny)}  # type: ignore[arg-type]
    assert small["batch_size"].value < 16
    assert small["gradient_accumulation_steps"].value * small["batch_size"].value >= 16


CONFIG = """
name: plan-test
data: {sources: [{path: corpus}]}
model: {name: tiny, tiny: {hidden_size: 64, layers: 2, heads: 2, vocab_size: 500}}
train: {epochs: auto, learning_rate: 0.001, batch_size: auto,
        gradient_accumulation_steps: auto}
"""


def test_auto_values_are_filled_and_set_ones_kept(tmp_path: Path) -> None:
    config = parse_config(CONFIG, tmp_path / "tunesmith.yaml")
    assert config.train.planned_autos == {"epochs", "batch_size", "gradient_accumulation_steps"}
    plan = build_plan(config, 1500, Hardware("cpu", 32.0, False, "test"))
    assert isinstance(plan, Plan)  # typed; plan.json is its to_dict()
    assert plan.decision("learning_rate").source == "user"
    assert plan.decision("epochs").source == "plan" and plan.decision("epochs").value == 2
    assert plan.decision("weight_decay").source == "default"  # left unset: the default stays
    assert plan.to_dict()["decisions"][0]["name"] == plan.decisions[0].name
    planned = resolve_plan(config, plan)
    assert planned is not config and planned.base_dir == config.base_dir
    assert planned.train.epochs == 2 and planned.train.learning_rate == pytest.approx(1e-3)
    assert planned.train.batch_size * planned.train.gradient_accumulation_steps >= 16
    assert planned.train.weight_decay == 0.0
    assert planned.train.precision == "auto"  # the trainer decides it on its own machine
    # before the plan (estimate, plan.distributed: auto), an 'auto' batch is sized at its default
    assert setup_for(config, Hardware("cpu", 32.0, False)).batch_size == 8
    # the user's config object keeps what the user wrote, and dumps it
    assert config.train.epochs == "auto" and config.train.batch_size == "auto"
    dumped = config.model_dump(mode="json")["train"]
    assert dumped["epochs"] == "auto" and dumped["learning_rate"] == pytest.approx(1e-3)


def test_label_smoothing_and_early_stopping_are_applied_from_the_plan(tmp_path: Path) -> None:
    text = CONFIG.replace("gradient_accumulation_steps: auto}", "gradient_accumulation_steps: "
                          "auto, label_smoothing: auto, early_stopping_patience: auto,\n"
                          "        early_stopping_min_delta: auto}")
    config = parse_config(text, tmp_path / "tunesmith.yaml")
    assert {"label_smoothing", "early_stopping_patience"} <= config.train.planned_autos
    assert config.train.early_stopping_patience == "auto"  # until the plan fills it
    plan = build_plan(config, 1500, Hardware("cpu", 32.0, False, "test"))
    assert plan.decision("label_smoothing").applied_to == "train.label_smoothing"
    assert (plan.decision("early_stopping_patience").applied_to
            == "train.early_stopping_patience")
    planned = resolve_plan(config, plan)
    assert planned.train.label_smoothing == 0.2  # seed: 0.2 under 5k examples
    assert planned.train.early_stopping_patience == 4
    assert planned.train.early_stopping_min_delta == 0.005
    # left unset: off (the rule's value is shown beside the default), and a user's value wins
    unset = build_plan(parse_config(CONFIG, tmp_path / "tunesmith.yaml"), 1500,
                       Hardware("cpu", 32.0, False, "test"))
    d = unset.decision("early_stopping_patience")
    assert d.source == "default" and d.value is None and d.suggested == 4
    user = parse_config(text.replace("label_smoothing: auto", "label_smoothing: 0.05"),
                        tmp_path / "tunesmith.yaml")
    assert resolve_plan(user, build_plan(user, 1500, Hardware("cpu", 32.0, False))
                      ).train.label_smoothing == 0.05


def test_auto_on_an_encoder_task_is_a_clear_error_before_training(tmp_path: Path) -> None:
    from rich.console import Console

    from tunesmith.errors import TunesmithError
    from tunesmith.pipeline.run import _run_train_planned

    text = ("name: enc\nmodel: {name: all-MiniLM-L6-v2, task: extractive_qa}\n"
            "data:\n  sources:\n    - {path: docs/}\ntrain: {learning_rate: auto, epochs: 1}\n")
    config = parse_config(text, tmp_path / "tunesmith.yaml")
    with pytest.raises(TunesmithError, match=r"learning_rate set to 'auto'.*causal LMs only"):
        _run_train_planned(config, tmp_path / "run", Console(quiet=True))
    assert not (tmp_path / "run").exists()  # nothing was trained or written


def test_a_value_left_at_auto_that_reaches_training_names_its_key(tmp_path: Path) -> None:
    from tunesmith.config.auto import resolved
    from tunesmith.errors import TunesmithError

    config = parse_config(CONFIG, tmp_path / "tunesmith.yaml")
    with pytest.raises(TunesmithError, match=r"train\.epochs: 'auto'"):
        resolved(config.train.epochs, "train.epochs")
    assert resolved(config.train.learning_rate, "train.learning_rate") == pytest.approx(1e-3)
