"""Experiment tracking (train.report_to): a real tiny training logs to TensorBoard and to a local
MLflow store under the run folder; the evaluation metrics and the report join the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tunesmith.config import parse_config
from tunesmith.data.schema import QARecord, write_records
from tunesmith.train.hardware import choose_hardware, shared_training_kwargs
from tunesmith.train.tracking import CONFIG_ARTIFACT, log_run_outputs, track_training
from tunesmith.utils.layout import RunLayout

QUESTIONS = [
    ("Where is the Eiffel Tower?", 0, "Paris"),
    ("When was it completed?", 0, "1889"),
    ("What does photosynthesis store?", 1, "glucose"),
    ("Who painted it?", 0, None),
]


def _config(tmp_path: Path, report_to: str) -> Any:
    text = ("name: tracked\ndata:\n  sources:\n    - {path: docs/}\nmethod:\n  name: lora\n"
            "train:\n  batch_size: 2\n  max_length: 256\n  logging_steps: 1\n  epochs: 1\n"
            f"  learning_rate: 1.0e-2\n  report_to: {report_to}\n")
    return parse_config(text, tmp_path / "tunesmith.yaml")


@pytest.fixture
def data_dir(tmp_path: Path, facts: list[str]) -> Path:
    folder = tmp_path / "run" / "data"
    records = [
        QARecord(id=f"r{i}", question=q, contexts=[facts[c]], answer=a,
                 answer_start=facts[c].index(a) if a else None,
                 kind="answerable" if a else "unanswerable")
        for i, (q, c, a) in enumerate(QUESTIONS)
    ]
    write_records(folder / "train.jsonl", records)  # 4 records, batch 2: 2 steps
    write_records(folder / "val.jsonl", records[2:])
    return folder


def test_off_by_default(tmp_path: Path) -> None:
    off = _config(tmp_path, "[]")
    # the Trainer's own integrations stay off: tunesmith's trackers name their destinations
    assert shared_training_kwargs(off.train, choose_hardware(off.train), 0, 8)["report_to"] == (
        "none")
    with track_training(off, tmp_path / "run") as tracking:
        assert tracking.callbacks == []
    assert not (tmp_path / "run").exists()  # nothing written when tracking is off


def test_unknown_tracker_is_a_config_error(tmp_path: Path) -> None:
    from tunesmith.config import ConfigError

    with pytest.raises(ConfigError, match="report_to"):
        _config(tmp_path, "[wandb]")


def test_tiny_training_logs_to_tensorboard_and_mlflow(tiny_base: str, data_dir: Path,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tunesmith.report import write_report
    from tunesmith.train.sft import train_sft

    config = _config(tmp_path, "[tensorboard, mlflow]")
    run_dir = data_dir.parent
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # nothing may land in the working directory
    layout = RunLayout(run_dir)
    with track_training(config, run_dir) as tracking:
        result = train_sft(config, tiny_base, data_dir, layout.train_dir,
                           callbacks=tracking.callbacks)
        tracking.log_summary(result.metrics)

    # TensorBoard: the Trainer's event files, with the training loss at every logged step
    (folder,) = layout.tensorboard_dir.iterdir()  # one folder per training
    assert folder.name.startswith("lora-")
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    losses = accumulator.Scalars("train/loss")
    assert [e.step for e in losses] == [1, 2]
    logged = [json.loads(line) for line in layout.train_metrics.read_text().splitlines()]
    first_loss = next(r["loss"] for r in logged if "loss" in r)
    assert losses[0].value == pytest.approx(first_loss, rel=1e-5)
    assert accumulator.Scalars("eval/loss")[-1].value == pytest.approx(result.metrics["eval_loss"])
    assert list(elsewhere.iterdir()) == []

    # MLflow: a local SQLite store under the run folder, one finished run
    saved = json.loads(layout.mlflow_run.read_text())
    assert saved["tracking_uri"] == f"sqlite:///{(layout.mlflow_dir / 'mlflow.db').resolve()}"
    client = MlflowClient(saved["tracking_uri"])
    run = client.get_run(saved["run_id"])
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "tracked"
    assert run.data.params["train.learning_rate"] == "0.01"
    assert run.data.params["method.name"] == "lora"
    assert json.loads(run.data.params["train.report_to"]) == ["tensorboard", "mlflow"]
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1, 2]
    assert history[0].value == pytest.approx(first_loss, rel=1e-5)
    assert run.data.metrics["summary/trainable_params"] == result.metrics["trainable_params"]
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_relative_to(layout.mlflow_dir.resolve())
    logged_config = yaml.safe_load((artifacts / CONFIG_ARTIFACT).read_text())
    assert logged_config == config.model_dump(mode="json")

    # after eval and the report: the metrics and report.html join the same run, once
    layout.eval_dir.mkdir(parents=True)
    layout.eval_metrics.write_text(json.dumps({"tuned": {"f1": 42.5, "exact": 40.0,
                                                         "eval_set": "test"}}))
    write_report(run_dir)
    assert log_run_outputs(config, run_dir) == run.info.run_id
    assert log_run_outputs(config, run_dir) == run.info.run_id
    assert [m.value for m in client.get_metric_history(run.info.run_id, "eval/tuned/f1")] == [42.5]
    assert (artifacts / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_failed_training_marks_the_mlflow_run_failed(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    config = _config(tmp_path, "[mlflow]")
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"), track_training(config, run_dir):
        raise RuntimeError("boom")
    saved = json.loads(RunLayout(run_dir).mlflow_run.read_text())
    assert MlflowClient(saved["tracking_uri"]).get_run(saved["run_id"]).info.status == "FAILED"
