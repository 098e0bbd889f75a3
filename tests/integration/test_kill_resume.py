"""``kill -9`` in the data build, in training and in eval, then a rerun: the run completes and
its final metrics are bit-identical to an uninterrupted run's with the same seed (on a CPU the
tiny model's training is deterministic, and a resumed run takes back every running sum).

The kill points are found by watching the run folder, never by sleeping: the data stage has
written its splits but not its manifest; a checkpoint exists and training has logged a later
step; eval has written its scores but not its manifest (the forgetting probe is running).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

FACTS = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.

The configuration file {i} is stored in /etc/harborlight/h{i}.toml. The segment size {i}
defaults to {i}12 MB. The console {i} uses the token in HL_TOKEN_{i}.
"""

# pre-training stops at 15 steps, never at its time budget: a time budget makes the base
# depend on the machine's load (14 steps under load gave another model)
# 3 epochs of 9 steps, a checkpoint every 3 steps and a log every 2: kills land between them
CONFIG = """\
schema_version: 1
name: kill
output_dir: {out}
model:
  tiny: {{hidden_size: 32, layers: 2, heads: 2, vocab_size: 400, pretrain_minutes: 5,
          pretrain_max_steps: 15, pretrain_batch_size: 4, pretrain_seq_len: 64}}
  cache_dir: cache
data:
  sources: [{{path: docs}}]
  split: {{val: 0.2, test: 0.2}}
train: {{epochs: 3, batch_size: 2, logging_steps: 2}}
eval: {{max_new_tokens: 6, forgetting: {{max_items: 6, max_new_tokens: 16}}}}
"""

UPSTREAM = {"data": (), "train": ("data", "model"), "eval": ("data", "model", "train")}
TIMINGS = ("runtime", "per_second", "preparation_time")  # wall-clock, not results


def _config(root: Path, case: str) -> Path:
    path = root / f"{case}.yaml"
    path.write_text(CONFIG.format(out=f"runs/{case}"), encoding="utf-8")
    return path


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``tunesmith run`` in its own process group (the kill takes every process it started)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tunesmith", "run", str(config)],
                                cwd=config.parent, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + 300
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run ended before the kill point:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _rerun(config: Path, log: Path) -> str:
    proc = _start(config, log)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    return log.read_text()


def _final(run: Path) -> dict[str, Any]:
    """What a run ends with: train's and eval's metrics (timings left out), the adapter's
    bytes, the predictions and the forgetting probe's scores."""
    def results(d: dict[str, Any]) -> dict[str, Any]:
        return {k: results(v) if isinstance(v, dict) else v for k, v in d.items()
                if not any(t in k for t in TIMINGS)}

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    train = json.loads((run / "train" / "manifest.json").read_text())["details"]["metrics"]
    return {"train": results(train),
            "eval": json.loads((run / "eval" / "metrics.json").read_text()),
            "forgetting": json.loads((run / "eval" / "forgetting.json").read_text())["models"],
            "adapter": digest(run / "train" / "adapter" / "adapter_model.safetensors"),
            "predictions": digest(run / "eval" / "predictions.jsonl")}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    (root / "docs").mkdir()
    for i in range(1, 9):
        (root / "docs" / f"d{i}.md").write_text(FACTS.format(i=i), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def reference(project: Path) -> dict[str, Any]:
    """The uninterrupted run (its finished stages seed the later cases' run folders)."""
    _rerun(_config(project, "reference"), project / "reference.log")
    return _final(project / "runs" / "reference" / "kill")


def _in_data(run: Path) -> bool:
    return (run / "data" / "train.jsonl").exists() and not (run / "data" / "manifest.json").exists()


def _between_checkpoints(run: Path) -> bool:
    """A complete checkpoint exists and training has logged a step after the newest one."""
    saved = [int(p.parent.name.rsplit("-", 1)[1])
             for p in (run / "train" / "checkpoints").glob("checkpoint-*/trainer_state.json")]
    try:
        logged = [json.loads(line).get("step", 0)
                  for line in (run / "train" / "metrics.jsonl").read_text().splitlines()]
    except (OSError, ValueError):  # not there yet
        return False
    return bool(saved) and max(logged, default=0) > max(saved)


def _in_eval(run: Path) -> bool:
    return (run / "eval" / "metrics.json").exists() and not (run / "eval" / "manifest.json"
                                                             ).exists()


KILL_POINTS = {"data": _in_data, "train": _between_checkpoints, "eval": _in_eval}


@pytest.mark.parametrize("stage", ["data", "train", "eval"])
def test_a_kill_then_a_rerun_ends_as_an_uninterrupted_run(
        stage: str, project: Path, reference: dict[str, Any]) -> None:
    config = _config(project, f"killed-in-{stage}")
    run = project / "runs" / f"killed-in-{stage}" / "kill"
    for upstream in UPSTREAM[stage]:  # finished stages, as the reference left them
        shutil.copytree(project / "runs" / "reference" / "kill" / upstream, run / upstream)
    log = project / f"killed-in-{stage}.log"

    _kill_when(_start(config, log), lambda: KILL_POINTS[stage](run), log)
    assert not (run / stage / "manifest.json").exists()  # killed inside the stage
    if stage == "train":
        assert list((run / "train" / "checkpoints").glob("checkpoint-*"))

    out = _rerun(config, project / f"killed-in-{stage}.rerun.log")
    for upstream in UPSTREAM[stage]:
        assert f"{upstream}: up to date, skipped" in out
    if stage == "train":
        assert "resuming from" in out
    assert _final(run) == reference
