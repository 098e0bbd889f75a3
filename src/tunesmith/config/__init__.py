"""Typed configuration: one pydantic model per section, nested in :class:`RunConfig`."""

from tunesmith.config.data import DataConfig
from tunesmith.config.evaluation import EvalConfig
from tunesmith.config.guard import GuardConfig
from tunesmith.config.load import ConfigError, apply_overrides, load_config, parse_config
from tunesmith.config.method import MethodConfig
from tunesmith.config.model import ModelConfig, TinyModelConfig
from tunesmith.config.run import SCHEMA_VERSION, RunConfig
from tunesmith.config.train import TrainConfig

__all__ = [
    "SCHEMA_VERSION",
    "ConfigError",
    "DataConfig",
    "EvalConfig",
    "GuardConfig",
    "MethodConfig",
    "ModelConfig",
    "RunConfig",
    "TinyModelConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "parse_config",
]
