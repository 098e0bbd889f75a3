"""A run stopped after a checkpoint and trained again ends as if it had never stopped: the same
weights, the same metrics, the same log (the process kill itself:
tests/integration/test_kill_resume.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tunesmith.config import parse_config
from tunesmith.data.schema import QARecord, write_records

TIMINGS = ("runtime", "per_second", "preparation_time")  # wall-clock, not results


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, facts: list[str]) -> Path:
    folder = tmp_path_factory.mktemp("data")
    records = [QARecord(id=f"r{i}", question=q, contexts=[c], answer=a,
                        answer_start=c.index(a), kind="answerable")
               for i, (q, c, a) in enumerate([
                   ("Where is the Eiffel Tower?", facts[0], "Paris"),
                   ("When was it completed?", facts[0], "1889"),
                   ("What does photosynthesis store?", facts[1], "glucose"),
                   ("How many countries?", facts[2], "nine")])]
    write_records(folder / "train.jsonl", records)
    write_records(folder / "val.jsonl", records[:2])
    return folder


def _config(tmp_path: Path) -> Any:
    # 2 steps an epoch: a checkpoint every step (all kept), a log every 2, an evaluation at
    # each epoch's end; step 5's checkpoint holds a loss not yet logged, step 4's ends an epoch
    text = ("name: t\ndata:\n  sources:\n    - {path: docs/}\ntrain:\n  max_steps: 6\n"
            "  batch_size: 2\n  max_length: 512\n  logging_steps: 4\n  learning_rate: 1.0e-2\n"
            "  save_total_limit: 6\n")
    return parse_config(text, tmp_path / "t.yaml")


def _results(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not any(t in k for t in TIMINGS)}


def _log(train_dir: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (train_dir / "metrics.jsonl").read_text().splitlines()]
    return [_results(row) for row in rows]


@pytest.mark.slow
@pytest.mark.parametrize("stopped_after", [4, 5])
def test_resuming_from_a_checkpoint_gives_the_uninterrupted_result(
        stopped_after: int, tiny_base: str, data_dir: Path, tmp_path: Path) -> None:
    from tunesmith.train.sft import train_sft

    config = _config(tmp_path)
    whole = train_sft(config, tiny_base, data_dir, tmp_path / "whole")
    assert whole.resumed_from is None

    train_dir = tmp_path / "stopped"
    train_sft(config, tiny_base, data_dir, train_dir)
    # as if killed after that step's checkpoint: the later ones and the adapter never made
    for step in range(stopped_after + 1, 7):
        shutil.rmtree(train_dir / "checkpoints" / f"checkpoint-{step}")
    shutil.rmtree(train_dir / "adapter")
    resumed = train_sft(config, tiny_base, data_dir, train_dir)

    assert resumed.resumed_from is not None
    assert resumed.resumed_from.endswith(f"checkpoint-{stopped_after}")
    assert _results(resumed.metrics) == _results(whole.metrics)  # train_loss included
    assert resumed.metrics["train_loss"] > 0
    assert _log(train_dir) == _log(tmp_path / "whole")
    weights = "adapter_model.safetensors"
    assert (train_dir / "adapter" / weights).read_bytes() == \
        (tmp_path / "whole" / "adapter" / weights).read_bytes()


@pytest.mark.slow
def test_resuming_from_the_final_checkpoint_keeps_the_run_s_train_loss(
        tiny_base: str, data_dir: Path, tmp_path: Path) -> None:
    """A run killed after training, before its adapter was saved (train_loss was 0.0)."""
    from tunesmith.train.sft import train_sft

    config = _config(tmp_path)
    first = train_sft(config, tiny_base, data_dir, tmp_path / "train")
    shutil.rmtree(tmp_path / "train" / "adapter")
    again = train_sft(config, tiny_base, data_dir, tmp_path / "train")
    assert again.resumed_from is not None and again.resumed_from.endswith("checkpoint-6")
    assert again.metrics["train_loss"] == first.metrics["train_loss"] > 0
