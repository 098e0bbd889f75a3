"""The web pages in a real browser: Debian's Chromium driven by Playwright, the real app under
uvicorn on loopback, a tiny run folder (records, metrics, a report, a tiny model and adapter).

The browser is ``$TUNESMITH_CHROMIUM``, else the first of chromium, chromium-browser,
google-chrome on the PATH (``.ci/run`` installs Debian's chromium). Playwright's own browser
download is not used; without any browser the browser tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tunesmith.config import MethodConfig, RunConfig
from tunesmith.config.model import TinyModelConfig
from tunesmith.data.schema import QARecord, write_records
from tunesmith.pipeline.manifest import Manifest
from tunesmith.ui.server import bind, url_of
from tunesmith.utils.layout import RunLayout

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FACTS = ["The broker listens on port 7420 by default. Version 2.1 was released in March 2021.",
         "The retention period is seven days. The console uses the token in HL_TOKEN."]
SMALL = TinyModelConfig(hidden_size=32, layers=2, heads=2, vocab_size=300,
                        max_position_embeddings=256, pretrain_seq_len=32, pretrain_batch_size=4,
                        pretrain_max_steps=2)
# context_length fires below 10 characters of context per question word: a one-word context
# always abstains, whatever the tiny model says
GATES = ["context_length", "confidence", "no_answer_prob"]
RECORDS = [
    ("Which port does the broker listen on?", 0, "7420"),
    ("When was version 2.1 released?", 0, "March 2021"),
    ("How long is the retention period?", 1, "seven days"),
    ("Who wrote the console?", 1, None),
    ("Which token does the console use?", 1, "HL_TOKEN"),
    ("What is the default port of the console?", 1, None),
]
TUNED = {"exact": 41.5, "f1": 45.25, "HasAns_f1": 20.1, "NoAns_f1": 87.5,
         "hallucination_rate": 0.125, "false_abstain_rate": 0.78, "total": 6}
BASE = {"exact": 0.0, "f1": 14.5, "total": 6}


def find_browser() -> str | None:
    chosen = os.environ.get("TUNESMITH_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is open, and every later test that calls
    ``asyncio.run`` (tests/unit/serve) would fail."""
    path = find_browser()
    if path is None:
        pytest.skip("no Chromium found for the browser tests: install Debian's chromium "
                    "(`apt-get install chromium`; .ci/run does) or set TUNESMITH_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def serving() -> Any:
    """``with serving(app) as url``: the app under uvicorn in a thread (see :func:`served`)."""
    return served


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on 127.0.0.1 (any free port), in a thread: its base URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ui server did not start")
        time.sleep(0.05)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _records() -> list[QARecord]:
    return [QARecord(id=f"r{i}", question=q, contexts=[FACTS[c]], answer=a,
                     answer_start=FACTS[c].index(a) if a else None,
                     kind="answerable" if a else "unanswerable")
            for i, (q, c, a) in enumerate(RECORDS)]


def _evaluated(layout: RunLayout, tuned: dict[str, Any], method: str) -> None:
    layout.eval_dir.mkdir(parents=True, exist_ok=True)
    layout.eval_metrics.write_text(json.dumps({"base": BASE, "tuned": tuned}))
    Manifest(stage="eval", config_hash="x", inputs={}).write(layout.eval_dir)
    layout.train_dir.mkdir(parents=True, exist_ok=True)
    Manifest(stage="train", config_hash="x", inputs={},
             details={"method": method}).write(layout.train_dir)
    layout.train_metrics.write_text("".join(
        json.dumps({"step": s, "loss": 3.0 - s / 4, "learning_rate": 2e-4 * s / 4}) + "\n"
        for s in range(1, 5)) + json.dumps({"step": 4, "eval_loss": 2.5}) + "\n")


@pytest.fixture(scope="session")
def ui_config(tmp_path_factory: pytest.TempPathFactory) -> RunConfig:
    """A config whose run folder has built data, a tiny base model and an (untrained) LoRA
    adapter, evaluation metrics and a report; a second run ``other`` beside it."""
    from tunesmith.methods import METHODS
    from tunesmith.models import tiny
    from tunesmith.models.loading import load_causal_lm
    from tunesmith.report import write_report

    root = tmp_path_factory.mktemp("ui")
    base = str(tiny.build_tiny_model(FACTS, SMALL, seed=0, cache_root=root / "models",
                                     progress=False))
    config = RunConfig.model_validate({
        "name": "uirun", "output_dir": str(root / "runs"),
        "data": {"sources": [{"path": str(root / "docs")}],
                 "review": {"dir": str(root / "review")}},
        "eval": {"max_new_tokens": 6}, "guard": {"gates": GATES}})
    layout = RunLayout.of(config)
    records = _records()
    write_records(layout.train_jsonl, records[:4])
    write_records(layout.val_jsonl, records[4:5])
    write_records(layout.test_jsonl, records[5:])
    layout.model_dir.mkdir(parents=True)
    Manifest(stage="model", config_hash="x", inputs={},
             details={"base_model": base}).write(layout.model_dir)
    method = METHODS.get("lora")()
    model = method.prepare(load_causal_lm(base), MethodConfig(name="lora").options)
    method.save(model, layout.adapter)
    _evaluated(layout, TUNED, "lora")
    write_report(layout.root)
    _evaluated(RunLayout(root / "runs" / "other"), {**TUNED, "f1": 30.75}, "ia3")
    return config


@pytest.fixture(scope="module")
def no_decisions(ui_config: RunConfig) -> None:
    """Each test module starts from a round nobody has reviewed."""
    for saved in ui_config.resolve(ui_config.data.review.dir).glob("*.jsonl"):
        saved.unlink()
