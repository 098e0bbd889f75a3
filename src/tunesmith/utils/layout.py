"""``RunLayout``: every path under ``runs/<name>/``, named once.

    layout = RunLayout(config.run_dir)
    layout.adapter            # runs/<name>/train/adapter
    layout.split("test")      # runs/<name>/data/test.jsonl
    layout.base_model()       # the base model the model stage resolved

It lives at the bottom layer (utils) so that data, inference, train, evaluate, guard, plan,
pipeline and the CLI all resolve the run folder the same way. The folder layout is the one
README.md shows ("runs/<name>/"): one folder per stage, each with its ``manifest.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tunesmith.errors import TunesmithError

MANIFEST = "manifest.json"


class _HasRunDir(Protocol):
    @property
    def run_dir(self) -> Path: ...


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder (nothing is created or read on construction)."""

    root: Path

    def __init__(self, root: Path | str):
        object.__setattr__(self, "root", Path(root))

    @classmethod
    def of(cls, config: _HasRunDir) -> RunLayout:
        """The layout of a config's run folder (``output_dir/name``)."""
        return cls(config.run_dir)

    def stage_dir(self, stage: str) -> Path:
        """``runs/<name>/<stage>/``: where a pipeline stage writes, with its manifest."""
        return self.root / stage

    def manifest(self, stage: str) -> Path:
        return self.stage_dir(stage) / MANIFEST

    # -- data ----------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def split(self, name: str) -> Path:
        """``data/<name>.jsonl`` (train, val, test, rejected)."""
        return self.data_dir / f"{name}.jsonl"

    @property
    def train_jsonl(self) -> Path:
        return self.split("train")

    @property
    def val_jsonl(self) -> Path:
        return self.split("val")

    @property
    def test_jsonl(self) -> Path:
        return self.split("test")

    @property
    def splits_json(self) -> Path:
        return self.data_dir / "splits.json"

    @property
    def data_stats(self) -> Path:
        return self.data_dir / "stats.json"

    @property
    def data_report(self) -> Path:
        return self.data_dir / "report.html"

    @property
    def data_cache(self) -> Path:
        return self.data_dir / "cache"

    # -- model ---------------------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    def base_model(self) -> str:
        """The base model (a name or a local folder) the model stage resolved and recorded."""
        path = self.manifest("model")
        try:
            details = json.loads(path.read_text(encoding="utf-8")).get("details") or {}
        except (OSError, ValueError):
            details = {}
        if "base_model" not in details:
            raise TunesmithError(f"{self.model_dir}: the model stage has not run "
                                 "(`tunesmith run CONFIG` builds it)")
        return str(details["base_model"])

    # -- train ---------------------------------------------------------------------------------
    @property
    def train_dir(self) -> Path:
        return self.root / "train"

    @property
    def adapter(self) -> Path:
        """What the method saved (a PEFT adapter or a native method's files)."""
        return self.train_dir / "adapter"

    @property
    def checkpoints(self) -> Path:
        return self.train_dir / "checkpoints"

    @property
    def answerability(self) -> Path:
        """The rejection head (an encoder trained for ``answerability``)."""
        return self.task_dir("answerability")

    def task_dir(self, task: str) -> Path:
        """``train/<task>/``: an encoder task's trained model (extractive_qa, answerability)."""
        return self.train_dir / task

    @property
    def train_metrics(self) -> Path:
        return self.train_dir / "metrics.jsonl"

    @property
    def tensorboard_dir(self) -> Path:
        """``train/tensorboard/``: one folder of event files per training (train.report_to)."""
        return self.train_dir / "tensorboard"

    @property
    def mlflow_run(self) -> Path:
        """Where the last training logged to MLflow: tracking URI, experiment and run ids."""
        return self.train_dir / "mlflow_run.json"

    @property
    def mlflow_dir(self) -> Path:
        """``runs/<name>/mlflow/``: the default local MLflow store (mlflow.db, artifacts/)."""
        return self.root / "mlflow"

    # -- guard ---------------------------------------------------------------------------------
    @property
    def guard_dir(self) -> Path:
        return self.root / "guard"

    @property
    def thresholds(self) -> Path:
        return self.guard_dir / "thresholds.json"

    @property
    def calibration(self) -> Path:
        return self.guard_dir / "calibration.json"

    @property
    def reliability_png(self) -> Path:
        return self.guard_dir / "reliability.png"

    # -- eval ----------------------------------------------------------------------------------
    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def eval_metrics(self) -> Path:
        return self.eval_dir / "metrics.json"

    @property
    def predictions(self) -> Path:
        return self.eval_dir / "predictions.jsonl"

    @property
    def no_answer_thresholds(self) -> Path:
        """``guard.no_answer_threshold: auto``: the threshold chosen per model on validation."""
        return self.eval_dir / "no_answer_threshold.json"

    @property
    def forgetting_json(self) -> Path:
        """The forgetting probe of base and tuned (``tunesmith.forgetting``)."""
        return self.eval_dir / "forgetting.json"

    # -- plan, compare, report -----------------------------------------------------------------
    @property
    def plan_dir(self) -> Path:
        return self.root / "plan"

    @property
    def plan_json(self) -> Path:
        return self.plan_dir / "plan.json"

    @property
    def lr_find_json(self) -> Path:
        return self.plan_dir / "lr_find.json"

    @property
    def lr_find_png(self) -> Path:
        return self.plan_dir / "lr_find.png"

    @property
    def compare_dir(self) -> Path:
        return self.root / "compare"

    @property
    def compare_forgetting(self) -> Path:
        """``tunesmith compare --forgetting``'s rows: task gain against general loss."""
        return self.compare_dir / "forgetting.json"

    # -- decide --------------------------------------------------------------------------------
    @property
    def decide_dir(self) -> Path:
        """``decide/``: should we fine-tune at all (``tunesmith decide``)."""
        return self.root / "decide"

    @property
    def decision(self) -> Path:
        """The baselines, the seed's criteria and the recommendation."""
        return self.decide_dir / "decision.json"

    @property
    def decide_outcome(self) -> Path:
        """The tuned model on the decision's questions, written by eval after training."""
        return self.decide_dir / "outcome.json"

    @property
    def decide_predictions(self) -> Path:
        """Every baseline's answer to every question."""
        return self.decide_dir / "predictions.jsonl"

    # -- export --------------------------------------------------------------------------------
    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    @property
    def merged_export(self) -> Path:
        """``tunesmith export --format merged``: the adapter merged into the base, a card."""
        return self.export_dir / "merged"

    def gguf_export(self, quant: str) -> Path:
        """``tunesmith export --format gguf``: ``export/<run name>-<quant>.gguf``."""
        return self.export_dir / f"{self.root.name}-{quant}.gguf"

    @property
    def report(self) -> Path:
        return self.root / "report.html"
