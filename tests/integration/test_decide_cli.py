"""``tunesmith decide`` through the CLI: user errors, and the real base model on the
quickstart's data (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunesmith.decide import BASELINES

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "tunesmith.yaml"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tunesmith", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_a_misspelt_decide_key_exits_2_naming_it(tmp_path: Path) -> None:
    result = _cli("decide", str(QUICKSTART), "--set", "decide.few_shots=2", cwd=tmp_path)
    assert result.returncode == 2
    assert "few_shots" in result.stderr and "Traceback" not in result.stderr


def test_missing_documents_exit_1_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "tunesmith.yaml"
    config.write_text("name: d\ndata: {sources: [{path: nowhere}]}\n")
    result = _cli("decide", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow  # the quickstart's data build, the GGUF conversion (once a session), 6 passes
def test_decide_on_the_quickstart_with_smollm2(tmp_path: Path, smollm2_cache: Path) -> None:
    result = _cli("decide", str(QUICKSTART), "--json",
                  "--set", f"output_dir={tmp_path / 'runs'}",
                  "--set", f"model.cache_dir={smollm2_cache}",
                  "--set", "decide.max_questions=4", "--set", "decide.latency_questions=1",
                  "--set", "decide.cot_max_new_tokens=48", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    decision = json.loads(result.stdout)
    written = json.loads((tmp_path / "runs" / "quickstart" / "decide" / "decision.json")
                         .read_text())
    assert written["recommendation"] == decision["recommendation"]
    assert set(decision["baselines"]) == set(BASELINES)
    for metrics in decision["baselines"].values():
        assert {"f1", "hallucination_rate", "p50_ms", "p95_ms"} <= set(metrics)
        assert metrics["p50_ms"] > 0
    assert decision["questions"]["count"] == 4
    assert decision["retrieval"]["chunks"] > 30  # the quickstart corpus, chunked
    assert decision["data"]["examples"] > 400
    assert {c["name"] for c in decision["criteria"]} >= {
        "performance_gap", "data_available", "knowledge_not_public", "latency"}
    assert decision["recommendation"] in ("prompt", "RAG", "fine-tune", "RAG + fine-tune")
    report = (tmp_path / "runs" / "quickstart" / "report.html").read_text()
    assert 'id="decide"' in report and "Recommendation:" in report
