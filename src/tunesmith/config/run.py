"""The whole ``tunesmith.yaml``: every section nested under one model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from tunesmith.config.base import Section
from tunesmith.config.data import DataConfig
from tunesmith.config.decide import DecideConfig
from tunesmith.config.evaluation import EvalConfig
from tunesmith.config.guard import GuardConfig
from tunesmith.config.method import MethodConfig, unsupported_task_error
from tunesmith.config.model import ModelConfig
from tunesmith.config.plan import PlanConfig
from tunesmith.config.serve import ServeConfig
from tunesmith.config.train import TrainConfig

SCHEMA_VERSION = 1


class RunConfig(Section):
    """The whole ``tunesmith.yaml``."""

    schema_version: Literal[1] = Field(1, description="Config schema version.")
    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Run name.")
    seed: int = Field(0, description="Seed for splits, sampling, initialisation and training.")
    output_dir: str = Field("runs", description="Runs go to <output_dir>/<name>/ (from the CWD).")
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig
    method: MethodConfig = Field(default_factory=MethodConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    decide: DecideConfig = Field(default_factory=DecideConfig)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _method_trains_the_task(self) -> RunConfig:
        """``method.name`` must be a method that trains ``model.task`` (its ``tasks``)."""
        error = unsupported_task_error(self.method.name, self.model.task)
        if error is not None:
            raise error
        return self

    @property
    def base_dir(self) -> Path:
        """The folder of the config file: relative data paths resolve against it."""
        return self._base_dir

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self._base_dir / p)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir).expanduser() / self.name
