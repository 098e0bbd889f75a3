"""``Auto[T]``: one mechanism for every key tunesmith can decide, kept as written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunesmith.config import ConfigError, RunConfig, parse_config
from tunesmith.config.auto import auto_fields, is_auto, or_default, resolved
from tunesmith.config.base import Section
from tunesmith.config.load import unwrap_model
from tunesmith.errors import TunesmithError

BASE = "name: t\ndata: {sources: [{path: corpus}]}\nmodel: {name: tiny}\n"


def _sections(model: type[Section] = RunConfig) -> list[type[Section]]:
    found = [model]
    for field in model.model_fields.values():
        sub = unwrap_model(field.annotation)
        if sub is not None:
            found += _sections(sub)
    return found


def test_every_key_that_takes_auto_is_declared_auto() -> None:
    # a key whose default is 'auto' but is not Auto[...] would be a second mechanism
    for section in _sections():
        for name, field in section.model_fields.items():
            if field.default == "auto" and section.__module__ != "tunesmith.config.guard":
                assert name in auto_fields(section), f"{section.__name__}.{name}"


def test_a_dumped_config_shows_auto_where_the_user_wrote_it(tmp_path: Path) -> None:
    text = BASE + "train: {epochs: auto, learning_rate: auto, batch_size: 4}\n"
    config = parse_config(text, tmp_path / "tunesmith.yaml")
    dumped = yaml.safe_load(yaml.safe_dump(config.model_dump(mode="json")))["train"]
    assert dumped["epochs"] == "auto" and dumped["learning_rate"] == "auto"
    assert dumped["batch_size"] == 4 and dumped["precision"] == "auto"
    assert config.train.planned_autos == {"epochs", "learning_rate"}
    assert RunConfig.model_validate(config.model_dump()).train.epochs == "auto"  # round trip


@pytest.mark.parametrize(("line", "message"), [
    ("train: {epochs: 0}", "'train.epochs': Input should be greater than 0, or 'auto' (got 0)"),
    ("train: {precision: fp8}", "'train.precision': Input should be 'fp32', 'fp16' or 'bf16', "
                                "or 'auto'"),
    ("plan: {distributed: mpi}", "'plan.distributed': Input should be 'ddp'"),
])
def test_a_bad_value_is_one_error_at_the_key(line: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + line + "\n", tmp_path / "tunesmith.yaml")
    text = str(caught.value)
    assert message in text and "literal" not in text and text.count("\n  - ") == 1


def test_helpers(tmp_path: Path) -> None:
    config = parse_config(BASE + "train: {batch_size: auto, epochs: 2}\n",
                          tmp_path / "tunesmith.yaml")
    assert is_auto(config.train.batch_size) and not is_auto(config.train.epochs)
    assert or_default(config.train, "batch_size") == 8  # the field's default, before the plan
    assert resolved(config.train.epochs, "train.epochs") == 2
    with pytest.raises(TunesmithError, match="train.batch_size"):
        resolved(config.train.batch_size, "train.batch_size")
