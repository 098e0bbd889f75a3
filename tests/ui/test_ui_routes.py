"""The routes without a browser: plain form posts work without JavaScript, mistakes are 4xx
with one line (JSON, a page, or the htmx fragment for the message line), the vendored htmx is
the recorded file, and ``tunesmith ui`` refuses a taken port in one line."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tunesmith.config import RunConfig
from tunesmith.ui import create_app

STATIC = Path(__file__).resolve().parents[2] / "src" / "tunesmith" / "ui" / "static"


@pytest.fixture(scope="module")
def client(ui_config: RunConfig, no_decisions: None) -> Any:
    return TestClient(create_app(ui_config))


@pytest.mark.parametrize(("method", "path", "data", "status", "message"), [
    ("get", "/review?round=typo", None, 400, "unknown review round 'typo'"),
    ("post", "/review/decide", {"round": "correctness", "id": "nope", "decision": "accept"},
     400, "record 'nope' is not among"),
    ("post", "/review/decide", {"round": "correctness", "id": "r0", "decision": "maybe"},
     422, "decision: Input should be 'accept', 'reject' or 'edit'"),
    ("post", "/review/decide", {"round": "correctness", "decision": "accept"}, 422,
     "id: Field required"),
    ("post", "/review/decide", {"round": "correctness", "id": "r0", "decision": "edit",
                                "question": "Which port?", "answer": ""}, 400,
     "the answer '' does not appear in the context"),
    ("get", "/runs/nope", None, 404, "no run named 'nope'"),
    ("get", "/runs/uirun/plots/bars.png", None, 422, "kind: Input should be"),
    ("get", "/compare?run=uirun", None, 400, "tick at least two runs"),
    ("post", "/ask", {"question": " ", "context": "x"}, 400, "must not be empty"),
    ("get", "/nowhere", None, 404, "Not Found"),
])
def test_mistakes_are_one_line_4xx(client: Any, method: str, path: str, data: Any,
                                   status: int, message: str) -> None:
    response = getattr(client, method)(path, **({"data": data} if data else {}))
    assert response.status_code == status
    error = response.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error


def test_a_browser_gets_a_page_and_htmx_gets_the_message_line(client: Any) -> None:
    page = client.get("/runs/nope", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "<h1>Something to fix</h1>" in page.text
    fragment = client.post("/review/decide", headers={"HX-Request": "true"},
                           data={"round": "correctness", "id": "nope", "decision": "accept"})
    assert fragment.status_code == 400
    assert fragment.headers["HX-Retarget"] == "#messages"
    assert fragment.text.startswith('<p class="error" role="alert">record')


def test_decisions_work_as_plain_form_posts(client: Any, ui_config: RunConfig) -> None:
    response = client.post("/review/decide", follow_redirects=False, data={
        "round": "correctness", "id": "r0", "decision": "reject", "reason": "off topic"})
    assert response.status_code == 303
    assert response.headers["location"] == "/review?round=correctness&id=r1"
    page = client.get(response.headers["location"], headers={"Accept": "text/html"})
    assert re.search(r'id="reviewed-count">1<', page.text)
    saved = ui_config.resolve(ui_config.data.review.dir) / "correctness.jsonl"
    assert '"reason": "off topic"' in saved.read_text()


def test_the_vendored_htmx_is_the_recorded_file() -> None:
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", (STATIC / "VENDORED.md").read_text())
    assert recorded is not None
    assert hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest() == recorded[1]
    assert 'version:"2.0.3"' in (STATIC / "htmx.min.js").read_text()


def test_cli_refuses_a_taken_port_in_one_line(ui_config: RunConfig, tmp_path: Path) -> None:
    config = tmp_path / "tunesmith.yaml"
    config.write_text(f"name: uirun\noutput_dir: {ui_config.output_dir}\n"
                      "data:\n  sources: [{path: docs}]\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tunesmith", "ui", str(config),
                                 "--port", str(port)], capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
