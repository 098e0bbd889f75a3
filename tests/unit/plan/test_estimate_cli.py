"""`tunesmith estimate` as a user runs it, and the launch files it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tunesmith.cli.main import app

runner = CliRunner()


def _estimate(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["estimate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_issue_check_commands_land_near_torchtune() -> None:
    common = ["--model", "llama-3-8b", "--seq-len", "2048", "--batch-size", "2",
              "--gradient-checkpointing"]
    for method, published in (("qlora", 7.4), ("lora", 16.2)):
        out = _estimate(*common, "--method", method)
        assert abs(float(out["peak_memory_gib"]) - published) / published <= 0.25
        assert set(out["breakdown_gib"]) >= {"weights", "gradients", "optimizer_states",
                                             "activations", "adapter", "framework_overhead"}


def test_hardware_question_and_launch_files(tmp_path: Path) -> None:
    out = _estimate("--hardware", "rtx4090")
    largest = out["largest_models"]
    assert largest["qlora"]["params_b"] >= largest["lora"]["params_b"]
    out = _estimate("--model", "llama-3-70b", "--method", "full", "--gpus", "8",
                    "--write-configs", str(tmp_path))
    assert out["multi_gpu"]["recommended"] in ("ZeRO-3", "ZeRO-3 + offload")
    acc = yaml.safe_load((tmp_path / "accelerate.yaml").read_text())
    assert acc["distributed_type"] == "DEEPSPEED" and acc["num_processes"] == 8
    ds = json.loads((tmp_path / "deepspeed.json").read_text())
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig

    assert DeepSpeedZeroConfig(**ds["zero_optimization"]).stage == 3
    assert len(out["seed"]["table"]) == 3


def test_bad_input_is_a_message_not_a_traceback() -> None:
    result = runner.invoke(app, ["estimate", "--model", "llama-9", "--json"])
    assert result.exit_code == 1 and "unknown model" in result.output
    result = runner.invoke(app, ["estimate", "--model", "llama-3-8b", "--gpu", "a100"])
    assert result.exit_code == 1 and "unknown GPU" in result.output


def test_cpu_time_times_the_blocks_of_a_local_model(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """--cpu-time on a model folder: a step time by block, cached under $TUNESMITH_CACHE."""
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "llama", "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 2, "intermediate_size": 64,
        "vocab_size": 128, "tie_word_embeddings": False}))
    out = _estimate("--model", str(folder), "--method", "lora", "--seq-len", "16",
                    "--batch-size", "1", "--samples", "100", "--cpu-time")
    cpu = out["cpu_time"]
    assert isinstance(cpu, dict) and cpu["clock"] == "cpu" and cpu["threads"] == 1
    assert cpu["seconds"] == pytest.approx(sum(cpu["parts"].values()), abs=1e-4)
    assert {"linear", "adapter", "attention", "loss", "optimizer"} <= set(cpu["parts"])
    assert cpu["steps"] == 100 and not cpu["gradient_checkpointing"]
    assert (tmp_path / "cache" / "cpu_blocks.json").exists()
