"""`tunesmith train CONFIG --nproc 2`: two real processes (torchrun, DDP over gloo) train the
tiny config, and their losses match one process with the same global batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli_end_to_end import _cli, _project

pytestmark = pytest.mark.slow  # two trainings of the tiny model: about a minute on 2 cores


def _train_metrics(run: Path) -> dict[str, float]:
    manifest = json.loads((run / "runs" / "e2e" / "train" / "manifest.json").read_text())
    return manifest["details"]["metrics"]


def test_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    two, one = tmp_path / "two", tmp_path / "one"
    two.mkdir()
    config = _project(two, epochs=2)
    lr = ["--set", "train.learning_rate=0.03"]
    # the data and the base model once; the single-process run gets a copy of both
    built = _cli("train", str(config), *lr, "--set", "train.epochs=0.01", cwd=two)
    assert built.returncode == 0, built.stderr
    shutil.rmtree(two / "runs" / "e2e" / "train")
    shutil.copytree(two, one)
    (one / "tunesmith.yaml").write_text(config.read_text().replace(str(two), str(one)))

    ddp = _cli("train", str(config), *lr, "--nproc", "2", cwd=two)
    assert ddp.returncode == 0, ddp.stderr
    assert "Traceback" not in ddp.stderr
    assert "torch.distributed.run --nproc_per_node=2 --standalone" in ddp.stdout
    # per-process batch 2 on 2 processes against batch 4 on one: the same examples per step
    single = _cli("train", str(one / "tunesmith.yaml"), *lr, "--set", "train.batch_size=4",
                  cwd=one)
    assert single.returncode == 0, single.stderr

    m2, m1 = _train_metrics(two), _train_metrics(one)
    assert m2["world_size"] == 2 and m1["world_size"] == 1
    # both start from the same base on the same validation split
    assert m2["base_eval_loss"] == pytest.approx(m1["base_eval_loss"], rel=1e-3)
    # and learn as much (the shuffles differ: DistributedSampler and RandomSampler)
    assert m2["eval_loss"] < m2["base_eval_loss"] and m1["eval_loss"] < m1["base_eval_loss"]
    assert m2["eval_loss"] == pytest.approx(m1["eval_loss"], rel=0.02)
    assert m2["train_loss"] == pytest.approx(m1["train_loss"], rel=0.05)
    # every record counted once per epoch, from both processes (DistributedSampler may
    # repeat one batch to even out the ranks)
    assert m1["train_tokens"] <= m2["train_tokens"] <= 1.2 * m1["train_tokens"]
    # one writer: the adapter, the manifest and the report are whole
    assert (two / "runs" / "e2e" / "train" / "adapter" / "adapter_model.safetensors").exists()
    assert (two / "runs" / "e2e" / "report.html").exists()
