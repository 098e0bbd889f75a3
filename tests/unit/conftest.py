"""Shared by the inference and evaluation tests: a tiny causal LM and a run that points at it."""

from __future__ import annotations

import json
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


HUMAN_CONTEXT = "The broker listens on port 7420 by default. It was released in March 2021."
HUMAN_SQUAD = {"version": "v2.0", "data": [{"title": "Broker", "paragraphs": [{
    "context": HUMAN_CONTEXT,
    "qas": [
        {"id": "q1", "question": "Which port does the broker listen on?", "is_impossible": False,
         "answers": [{"text": "7420", "answer_start": HUMAN_CONTEXT.index("7420")}]},
        {"id": "q2", "question": "When was it released?", "is_impossible": False,
         "answers": [{"text": "March 2021",
                      "answer_start": HUMAN_CONTEXT.index("March 2021")}]},
        {"id": "q3", "question": "Who founded the broker?", "is_impossible": True,
         "answers": [], "plausible_answers": [{"text": "broker", "answer_start": 4}]},
    ]}]}]}


@pytest.fixture
def human_squad(tmp_path: Path) -> Path:
    """``tmp_path/human.json``: a SQuAD 2.0 file of three questions (one unanswerable) about
    one short context, as a user's ``eval.dataset`` would be."""
    path = tmp_path / "human.json"
    path.write_text(json.dumps(HUMAN_SQUAD), encoding="utf-8")
    return path
