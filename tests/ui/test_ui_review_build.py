"""A review decision made in the browser reaches the next ``tunesmith data build``: the real
build (the CLI), the real pages in Chromium, the real build again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tunesmith.config import load_config
from tunesmith.ui import create_app

pytestmark = pytest.mark.slow

DOC = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.
"""
CONFIG = """\
schema_version: 1
name: reviewed
output_dir: {out}
data:
  sources: [{{path: docs}}]
  split: {{val: 0.2, test: 0.2}}
"""


def _build(config: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "tunesmith", "data", "build", str(config)],
                            cwd=config.parent, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_decision_made_in_the_browser_reaches_the_next_build(
        tmp_path: Path, browser: Any, serving: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(1, 7):
        (docs / f"d{i}.md").write_text(DOC.format(i=i), encoding="utf-8")
    config_path = tmp_path / "tunesmith.yaml"
    config_path.write_text(CONFIG.format(out=tmp_path / "runs"))
    _build(config_path)
    config = load_config(config_path)

    with serving(create_app(config)) as url:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{url}/review?round=correctness")
        rejected = page.locator("#record").get_attribute("data-id")
        page.keyboard.press("r")
        page.locator("#reviewed-count", has_text="1").wait_for()
        edited = page.locator("#record").get_attribute("data-id")
        page.keyboard.press("e")
        page.locator("#edit-question").fill("Reviewed: what does this section say?")
        page.locator("#edit-question").press("Enter")
        page.locator("#reviewed-count", has_text="2").wait_for()
        assert page.locator('#rates tr[data-round="correctness"] .rate').inner_text() == "50.0%"
        page.close()

    _build(config_path)  # stale (the review folder changed): it runs again
    data = tmp_path / "runs" / "reviewed" / "data"
    dropped = [r for r in _jsonl(data / "rejected.jsonl") if r.get("stage") == "review"]
    assert [r["record"]["id"] for r in dropped] == [rejected]
    kept = {r["id"]: r for name in ("train", "val", "test") for r in _jsonl(data / f"{name}.jsonl")}
    assert rejected not in kept
    assert kept[edited]["question"] == "Reviewed: what does this section say?"
    assert kept[edited]["provenance"]["review_edit"] == ["question"]
    stats = json.loads((data / "stats.json").read_text())
    assert stats["review"]["rounds"]["correctness"] == {
        "reviewed": 2, "rejected": 1, "rate": 0.5, "expected": [0.2, 0.3], "within": False}
