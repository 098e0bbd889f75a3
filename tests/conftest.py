"""Shared fixtures: the real SQuAD 2.0 sample, tiny corpora, an isolated model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    env = os.environ.get("TUNESMITH_SHARED_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def squad_sample_dir() -> Path:
    path = shared_dir() / "data" / "squad_v2_sample"
    if not path.exists():
        pytest.skip(f"SQuAD 2.0 sample not found at {path} (set TUNESMITH_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def quickstart_corpus() -> Path:
    return REPO_ROOT / "examples" / "quickstart" / "corpus"


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the tests that use SmolLM2 (not the user's ~/.cache): the first of
    them dequantises the GGUF (~20 s), the rest reuse the folder as a user's second run does.
    tests/unit/models/test_gguf.py converts into caches of its own."""
    return tmp_path_factory.mktemp("smollm2-cache")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the tests may reach a hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
