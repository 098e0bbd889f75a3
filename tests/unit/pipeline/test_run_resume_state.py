"""What a stage keeps to resume (train: its checkpoints) survives a rerun after a kill, and a
forced rerun starts without it (``tunesmith train --force`` resumed from the finished
checkpoint, and reported train_loss 0.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.pipeline import run as pipeline


def test_force_drops_the_resume_state_and_a_plain_rerun_keeps_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found: list[bool] = []

    def train(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
        checkpoints = run_dir / "train" / "checkpoints"
        found.append(checkpoints.exists())
        checkpoints.mkdir(parents=True, exist_ok=True)
        return {}

    stage = pipeline.Stage("train", ("train",), (), lambda config, run_dir: {}, train,
                           resume_state=("checkpoints",))
    monkeypatch.setattr(pipeline, "STAGES", (stage,))
    monkeypatch.setattr(pipeline, "STAGE_NAMES", ("train",))
    config = RunConfig.model_validate({"name": "x", "model": {"name": "tiny"},
                                       "data": {"sources": [{"path": "docs"}]},
                                       "output_dir": str(tmp_path)})
    quiet = Console(file=None, quiet=True)

    pipeline.run_pipeline(config, until="train", console=quiet, report=False)
    (config.run_dir / "train" / "manifest.json").unlink()  # as if killed before the manifest
    pipeline.run_pipeline(config, until="train", console=quiet, report=False)
    pipeline.run_pipeline(config, until="train", force=("train",), console=quiet,
                          report=False)
    assert found == [False, True, False]
