"""Experiment tracking: ``train.report_to: [tensorboard, mlflow]``.

Each tracker is a ``TrainerCallback`` that the train stage passes to ``train_sft``, with its
destination named explicitly. The Trainer's own integrations (``TrainingArguments.report_to``)
are left off: its TensorBoard callback opens its writer in the working directory
(``./runs/``) when something is logged before training starts (the base model's eval loss),
and its MLflow callback is configured through process-wide environment variables and mlflow's
global active run, which leak from one run into the next in a long-lived process (the web UI,
the tests).

- TensorBoard: event files in ``runs/<name>/train/tensorboard/<method>-<time>/``, one folder
  per training, scalars named as the Trainer's integration names them (``train/loss``,
  ``eval/loss``).
- MLflow: MLflow 3 refuses the plain-folder store (``./mlruns``, in maintenance mode) unless an
  environment variable opts in, so the default local store is one SQLite file under the run
  folder, ``runs/<name>/mlflow/mlflow.db``, with the artifacts beside it. One training is one
  MLflow run in the experiment named after the tunesmith run: the config as params (dotted
  keys) and as an artifact, the Trainer's metrics at every logging step, the training summary;
  after the report, :func:`log_run_outputs` adds the evaluation metrics and ``report.html`` to
  the same run (``runs/<name>/train/mlflow_run.json`` says which).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.config import RunConfig
from tunesmith.utils.hashing import sha256_file
from tunesmith.utils.io import read_json, write_json_atomic
from tunesmith.utils.layout import RunLayout

MAX_PARAM_CHARS = 6000  # MLflow 3's limit on one param value (mlflow.utils.validation)
_PARAMS_PER_CALL = 100  # MLflow's limit on params in one log_batch call
CONFIG_ARTIFACT = "config/tunesmith.yaml"


def tracking_uri(config: RunConfig, run_dir: Path) -> str:
    """``train.mlflow_tracking_uri``, else the SQLite store under the run folder."""
    if config.train.mlflow_tracking_uri:
        return config.train.mlflow_tracking_uri
    store = RunLayout(run_dir).mlflow_dir
    store.mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + (store / "mlflow.db").resolve().as_posix()


def flat_params(config: RunConfig) -> dict[str, str]:
    """The config as MLflow params: ``train.learning_rate`` -> ``"0.0002"``."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            out[prefix] = text[:MAX_PARAM_CHARS]

    walk("", config.model_dump(mode="json"))
    return out


def _numbers(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{k}": float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient  # heavy (~2 s): only when MLflow is on

    return MlflowClient(tracking_uri=uri)


def _log_metrics(client: Any, run_id: str, metrics: Mapping[str, float], step: int) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [Metric(key, value, now, step) for key, value in metrics.items()]
    for start in range(0, len(batch), _PARAMS_PER_CALL):
        client.log_batch(run_id, metrics=batch[start:start + _PARAMS_PER_CALL])


class MlflowTracker(TrainerCallback):
    """One training as one MLflow run: params and config at the start, metrics on every log."""

    def __init__(self, config: RunConfig, run_dir: Path):
        self.config = config
        self.layout = RunLayout(run_dir)
        self.uri = tracking_uri(config, run_dir)
        self.client = _client(self.uri)
        self.run_id = ""

    def start(self) -> str:
        from mlflow.entities import Param

        experiment = self.client.get_experiment_by_name(self.config.name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            local = self.config.train.mlflow_tracking_uri is None
            artifacts = (self.layout.mlflow_dir / "artifacts").resolve().as_uri() if local else None
            experiment_id = self.client.create_experiment(self.config.name,
                                                          artifact_location=artifacts)
        run = self.client.create_run(experiment_id, run_name=f"{self.config.name}-train",
                                     tags={"tunesmith.method": self.config.method.name,
                                           "tunesmith.model": self.config.model.name})
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in flat_params(self.config).items()]
        for start in range(0, len(params), _PARAMS_PER_CALL):
            self.client.log_batch(self.run_id, params=params[start:start + _PARAMS_PER_CALL])
        config_yaml = yaml.safe_dump(self.config.model_dump(mode="json"), sort_keys=False)
        self.client.log_text(self.run_id, config_yaml, CONFIG_ARTIFACT)
        write_json_atomic(self.layout.mlflow_run, {
            "tracking_uri": self.uri, "experiment_id": experiment_id, "run_id": self.run_id})
        return self.run_id

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metrics = _numbers(logs or {})
        if self.run_id and metrics:
            _log_metrics(self.client, self.run_id, metrics, state.global_step)

    def log_summary(self, metrics: Mapping[str, Any]) -> None:
        """The training's own numbers (trainable parameters, tokens/s, base eval loss)."""
        numbers = _numbers(metrics, "summary/")
        if self.run_id and numbers:
            _log_metrics(self.client, self.run_id, numbers, 0)

    def finish(self, status: str) -> None:
        if self.run_id:
            self.client.set_terminated(self.run_id, status=status)


class TensorBoardTracker(TrainerCallback):
    """The Trainer's logs as TensorBoard scalars, in one folder per training."""

    def __init__(self, log_dir: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = log_dir
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        from transformers.integrations import rewrite_logs

        for key, value in _numbers(rewrite_logs(logs or {})).items():
            self.writer.add_scalar(key, value, state.global_step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


@dataclass
class Tracking:
    """What a training passes to the Trainer (``callbacks``) and calls when it is done."""

    tensorboard: TensorBoardTracker | None = None
    mlflow: MlflowTracker | None = None

    @property
    def callbacks(self) -> list[TrainerCallback]:
        return [t for t in (self.tensorboard, self.mlflow) if t is not None]

    def log_summary(self, metrics: Mapping[str, Any]) -> None:
        if self.mlflow is not None:
            self.mlflow.log_summary(metrics)


@contextmanager
def track_training(config: RunConfig, run_dir: Path) -> Iterator[Tracking]:
    """The trackers ``train.report_to`` lists, around one training; the MLflow run ends
    FINISHED, FAILED (an error) or KILLED (interrupted)."""
    trackers = config.train.report_to
    tracking = Tracking()
    if "tensorboard" in trackers:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        tracking.tensorboard = TensorBoardTracker(
            RunLayout(run_dir).tensorboard_dir / f"{config.method.name}-{stamp}")
    if "mlflow" in trackers:
        tracking.mlflow = MlflowTracker(config, run_dir)
        tracking.mlflow.start()
    status = "FINISHED"
    try:
        yield tracking
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        if tracking.tensorboard is not None:
            tracking.tensorboard.close()
        if tracking.mlflow is not None:
            tracking.mlflow.finish(status)


def log_run_outputs(config: RunConfig, run_dir: Path) -> str | None:
    """Add the evaluation metrics (``eval/<model>/<metric>``, once per metrics file) and
    ``report.html`` to the MLflow run of the last training; returns its id, or None when
    MLflow is off or no training has been logged."""
    layout = RunLayout(run_dir)
    if "mlflow" not in config.train.report_to or not layout.mlflow_run.is_file():
        return None
    saved = read_json(layout.mlflow_run)
    client = _client(saved["tracking_uri"])
    run_id = str(saved["run_id"])
    if layout.eval_metrics.is_file():
        digest = sha256_file(layout.eval_metrics)
        if saved.get("eval_metrics_sha256") != digest:
            metrics: dict[str, float] = {}
            for label, values in read_json(layout.eval_metrics).items():
                if isinstance(values, dict):
                    metrics.update(_numbers(values, f"eval/{label}/"))
            _log_metrics(client, run_id, metrics, 0)
            write_json_atomic(layout.mlflow_run, {**saved, "eval_metrics_sha256": digest})
    if layout.report.is_file():
        client.log_artifact(run_id, str(layout.report))
    return run_id
