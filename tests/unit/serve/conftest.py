"""A tiny run with a LoRA adapter, its guarded service, and a real server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import uvicorn

from tunesmith.config import MethodConfig, RunConfig
from tunesmith.methods import METHODS
from tunesmith.models.loading import load_causal_lm
from tunesmith.pipeline.manifest import Manifest
from tunesmith.serve import GuardService, create_app
from tunesmith.utils.layout import RunLayout

# the context_length gate fires below 10 characters of context per question word: a one-word
# context always abstains, whatever the tiny model says
GATES = ["context_length", "confidence", "no_answer_prob"]


def make_run(root: Path, base_model: str, **serve: object) -> RunConfig:
    """A run folder whose model stage recorded ``base_model`` and whose train stage saved an
    (untrained) LoRA adapter, as ``tunesmith run`` leaves one."""
    config = RunConfig.model_validate({
        "name": "srv", "output_dir": str(root / "runs"),
        "data": {"sources": [{"path": str(root)}]},
        "eval": {"max_new_tokens": 6},
        "guard": {"gates": GATES},
        "serve": {"batch_wait_ms": 50, **serve},
    })
    layout = RunLayout.of(config)
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    Manifest(stage="model", config_hash="x", inputs={},
             details={"base_model": base_model}).write(layout.model_dir)
    method = METHODS.get("lora")()
    model = method.prepare(load_causal_lm(base_model), MethodConfig(name="lora").options)
    method.save(model, layout.adapter)
    return config


@pytest.fixture(scope="module")
def run_config(tmp_path_factory: pytest.TempPathFactory, tiny_lm: str) -> RunConfig:
    return make_run(tmp_path_factory.mktemp("serve"), tiny_lm)


@pytest.fixture(scope="module")
def service(run_config: RunConfig) -> GuardService:
    return GuardService.from_config(run_config)


@contextmanager
def running(service: GuardService, api_key: str | None = None) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 (any free port), in a thread: its base URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(service, api_key), host="127.0.0.1",
                                           port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def base_url(service: GuardService) -> Iterator[str]:
    with running(service) as url:
        yield url


@pytest.fixture
def serve() -> Callable[..., AbstractContextManager[str]]:
    """``with serve(service, api_key=None) as url``: another server, for one test."""
    return running
