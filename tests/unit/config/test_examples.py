"""Every shipped config loads: a renamed key or a changed default fails here, not for a user."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config.load import load_config
from tunesmith.models.builtin import is_gguf_name

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*/*.yaml"))


def test_the_examples_are_found() -> None:
    names = {f"{p.parent.name}/{p.name}" for p in EXAMPLES}
    assert {"quickstart/tunesmith.yaml", "squad-sample/tunesmith.yaml",
            "squad-sample/minilm.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_config_loads(path: Path) -> None:
    config = load_config(path)
    assert config.name
    if config.eval.dataset and "shared" not in config.eval.dataset:
        assert config.resolve(config.eval.dataset).is_file()  # shipped beside the config
    if config.model.task == "causal_lm":
        assert is_gguf_name(config.model.name) or config.model.is_tiny
