"""Shared by the inference and evaluation tests: a tiny causal LM and a run that points at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tunesmith.config.model import TinyModelConfig
from tunesmith.models import tiny
from tunesmith.pipeline.manifest import Manifest

FACTS = [
    "The broker listens on port 7420 by default. Version 2.1 was released in March 2021.",
    "The retention period is seven days. The console uses the token in HL_TOKEN.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
]
SMALL = TinyModelConfig(hidden_size=32, layers=2, heads=2, vocab_size=300,
                        max_position_embeddings=256, pretrain_seq_len=32, pretrain_batch_size=4,
                        pretrain_max_steps=2)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny causal LM with the built-in chat template (2 pre-training steps): its folder."""
    root = tmp_path_factory.mktemp("tiny-lm")
    return str(tiny.build_tiny_model(FACTS, SMALL, seed=0, cache_root=root, progress=False))


@pytest.fixture
def run_with_base(tiny_lm: str) -> Callable[[Path], Path]:
    """``make(run_dir)``: a run folder whose model stage recorded :func:`tiny_lm` as its base
    (what ``pipeline.run``'s model stage writes), without building any data."""

    def make(run_dir: Path) -> Path:
        stage = run_dir / "model"
        stage.mkdir(parents=True, exist_ok=True)
        Manifest(stage="model", config_hash="x", inputs={},
                 details={"base_model": tiny_lm}).write(stage)
        return run_dir

    return make
