"""``tunesmith serve`` as a user runs it: a subprocess, a port, the openai client, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import yaml

from tunesmith.config import RunConfig


def _write(config: RunConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    return path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tunesmith", *args], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "300", **(env or {})})


def test_serve_answers_the_openai_client_and_stops_on_ctrl_c(
        run_config: RunConfig, tmp_path: Path) -> None:
    config = _write(run_config, tmp_path / "tunesmith.yaml")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUNESMITH_API_KEY": "k-123",
           "COLUMNS": "300"}
    process = subprocess.Popen([sys.executable, "-m", "tunesmith", "serve", str(config),
                                "--port", "0", "--log-level", "warning"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        url = None
        deadline = time.monotonic() + 240
        assert process.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            found = re.search(r"at (http://\S+)/v1", line)
            url = found.group(1) if found else None
        assert url, process.stderr.read() if process.stderr else "no output"
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="k-123", max_retries=0)
        reply = client.chat.completions.create(
            model="srv", messages=[{"role": "system", "content": "The broker listens on port "
                                    "7420 by default."},
                                   {"role": "user", "content": "Which port?"}])
        assert isinstance(reply.model_extra["tunesmith"]["rejection_flag"], bool)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode in (0, 130)


def test_serve_refuses_a_taken_port_and_a_run_without_a_model(
        run_config: RunConfig, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _cli("serve", str(_write(run_config, tmp_path / "a.yaml")), "--port",
                      str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr

    untrained = run_config.model_copy(update={"name": "nothing-here"})
    result = _cli("serve", str(_write(untrained, tmp_path / "b.yaml")), "--port", "0")
    assert result.returncode == 1 and "model stage has not run" in result.stderr
    assert "Traceback" not in result.stderr

    result = _cli("serve", str(_write(run_config, tmp_path / "c.yaml")), "--set",
                  "serve.queue_sise=3")
    assert result.returncode == 2 and "queue_size" in result.stderr
