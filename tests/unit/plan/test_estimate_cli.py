"""`tunesmith estimate` as a user runs it, and the launch files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tunesmith.cli.main import app

runner = CliRunner()


def _estimate(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["estimate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_issue_check_commands_land_near_torchtune() -> None:
    common = ["--model", "llama-3-8b", "--seq-len", "2048", "--batch-size", "2",
              "--gradient-checkpointing"]
    for method, published in (("qlora", 7.4), ("lora", 16.2)):
        out = _estimate(*common, "--method", method)
        assert abs(float(out["peak_memory_gib"]) - published) / published <= 0.25  # type: ignore[arg-type]
        assert set(out["breakdown_gib"]) >= {"weights", "gradients", "optimizer_states",  # type: ignore[arg-type]
                                             "activations", "adapter", "framework_overhead"}


def test_hardware_question_and_launch_files(tmp_path: Path) -> None:
    out = _estimate("--hardware", "rtx4090")
    largest = out["largest_models"]
    assert largest["qlora"]["params_b"] >= largest["lora"]["params_b"]  # type: ignore[index]
    out = _estimate("--model", "llama-3-70b", "--method", "full", "--gpus", "8",
                    "--write-configs", str(tmp_path))
    assert out["multi_gpu"]["recommended"] in ("ZeRO-3", "ZeRO-3 + offload")  # type: ignore[index]
    acc = yaml.safe_load((tmp_path / "accelerate.yaml").read_text())
    assert acc["distributed_type"] == "DEEPSPEED" and acc["num_processes"] == 8
    ds = json.loads((tmp_path / "deepspeed.json").read_text())
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig

    assert DeepSpeedZeroConfig(**ds["zero_optimization"]).stage == 3
    assert len(out["seed"]["table"]) == 3  # type: ignore[index]


def test_bad_input_is_a_message_not_a_traceback() -> None:
    result = runner.invoke(app, ["estimate", "--model", "llama-9", "--json"])
    assert result.exit_code == 1 and "unknown model" in result.output
    result = runner.invoke(app, ["estimate", "--model", "llama-3-8b", "--gpu", "a100"])
    assert result.exit_code == 1 and "unknown GPU" in result.output
