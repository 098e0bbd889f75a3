"""The comparison's bookkeeping: which methods, which keys each inherits, the derived columns,
the outputs, and a failing method that becomes a row instead of stopping the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunesmith.compare.report import SEED_TABLE, write_outputs
from tunesmith.compare.run import _add_relative_scores, resolve_methods
from tunesmith.compare.worker import comparable_method, main
from tunesmith.config import parse_config
from tunesmith.methods import METHODS
from tunesmith.registry import UnknownNameError

CONFIG = ("name: demo\ndata:\n  sources:\n    - {path: docs/}\nmethod:\n  name: lora\n  r: 32\n"
          "  alpha: 64\n  target_modules: all-linear\n")


def test_resolve_methods() -> None:
    assert resolve_methods("all") == METHODS.names()
    assert resolve_methods("lora, ia3,lora") == ["lora", "ia3"]
    with pytest.raises(UnknownNameError, match="did you mean 'lora'"):
        resolve_methods("lora,lorra")


def test_other_methods_inherit_only_keys_they_take() -> None:
    configured = parse_config(CONFIG, Path("t.yaml")).method
    assert comparable_method(configured, "lora") is configured
    dora = comparable_method(configured, "dora")
    assert (dora.options.r, dora.options.target_modules) == (32, "all-linear")
    vera = comparable_method(configured, "vera")  # takes r, not 'all-linear'
    assert vera.options.r == 32 and vera.options.target_modules == ["q_proj", "v_proj"]
    assert comparable_method(configured, "ia3").name == "ia3"


def test_relative_scores_and_outputs(tmp_path: Path) -> None:
    rows = [
        {"method": "base", "status": "ok", "f1": 1.0},
        {"method": "full", "status": "ok", "family": "full", "f1": 20.0, "eval_loss": 2.0,
         "base_eval_loss": 3.0, "trainable_params": 100, "trainable_percent": 100.0},
        {"method": "lora", "status": "ok", "family": "reparameterised", "f1": 15.0,
         "eval_loss": 3.5, "base_eval_loss": 3.0, "trainable_params": 5,
         "trainable_percent": 5.0},
        {"method": "broken", "status": "error", "error": "ValueError: bad | thing"},
    ]
    _add_relative_scores(rows)
    assert rows[2]["f1_percent_of_full"] == pytest.approx(75.0)
    assert rows[1]["improved_eval_loss"] is True and rows[2]["improved_eval_loss"] is False
    write_outputs(rows, {"run": "demo", "max_steps": 3}, tmp_path)
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert [r["method"] for r in data["rows"]] == ["base", "full", "lora", "broken"]
    markdown = (tmp_path / "comparison.md").read_text()
    assert "| lora | reparameterised | 5 |" in markdown
    assert "error: ValueError: bad \\| thing" in markdown and SEED_TABLE in markdown
    assert (tmp_path / "comparison.png").stat().st_size > 1000


def test_a_failing_method_is_a_row_with_its_error(tmp_path: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text(CONFIG)
    code = main([str(config), "lora", str(tmp_path / "out"), "--base-model",
                 str(tmp_path / "no-such-model"), "--data", str(tmp_path), "--max-steps", "1"])
    assert code == 0
    row = json.loads((tmp_path / "out" / "result.json").read_text())
    assert row["status"] == "error" and row["method"] == "lora"
    assert "train.jsonl" in row["error"] or "no-such-model" in row["error"]
