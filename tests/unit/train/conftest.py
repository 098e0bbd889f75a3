"""Shared by the training tests: three facts and a tiny LLaMA pre-trained on them (built once)."""

from __future__ import annotations

import pytest

from tunesmith.config.model import TinyModelConfig
from tunesmith.models import tiny

FACTS = [
    "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The Amazon river carries more water than any other river; its basin spans nine countries.",
]
SMALL = TinyModelConfig(hidden_size=32, layers=2, heads=2, vocab_size=300,
                        max_position_embeddings=256, pretrain_seq_len=32, pretrain_batch_size=4,
                        pretrain_max_steps=2)


@pytest.fixture(scope="session")
def facts() -> list[str]:
    return list(FACTS)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny causal LM pre-trained (2 steps) on :data:`FACTS`: its path."""
    root = tmp_path_factory.mktemp("models")
    return str(tiny.build_tiny_model(FACTS, SMALL, seed=0, cache_root=root, progress=False))
