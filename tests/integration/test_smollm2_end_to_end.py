"""The real base model end to end: SmolLM2-135M-Instruct from its package, a few LoRA steps on
eight records, then a guarded answer through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # converts 135M parameters, then trains: ~1.5 minutes on 2 cores

DOC = """# Dead letters

Harborlight moves a message to the dead letter topic after five failed deliveries.
Messages in the dead letter topic are kept for 14 days by default. The dead letter
topic of a topic named orders is called orders.dlq.

# Quotas

Each client may publish 50 MB per second by default. A client that exceeds its quota is
slowed down, not disconnected. Quotas are set with the command hlctl quota set.
"""

CONFIG = """\
schema_version: 1
name: smol
output_dir: {out}
model: {{name: smollm2-135m-instruct, cache_dir: {cache}}}
data:
  sources: [{{path: docs}}]
  generate: {{generator: rules, per_context: 4}}
  split: {{val: 0.0, test: 0.0}}
  balance: {{enabled: false}}
method: {{name: lora, r: 4, alpha: 8, target_modules: [q_proj, v_proj]}}
train: {{max_steps: 2, batch_size: 4, learning_rate: 1.0e-3, logging_steps: 1}}
guard: {{gates: [no_answer_prob]}}
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tunesmith", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_lora_steps_on_smollm2_then_an_answer(tmp_path: Path, smollm2_cache: Path) -> None:
    (tmp_path / "docs").mkdir()
    for i in range(2):
        (tmp_path / "docs" / f"d{i}.md").write_text(DOC.replace("orders", f"orders{i}"))
    config = tmp_path / "tunesmith.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "runs", cache=smollm2_cache))

    trained = _cli("train", str(config), cwd=tmp_path)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    run = tmp_path / "runs" / "smol"
    model = json.loads((run / "model" / "manifest.json").read_text())["details"]
    assert model["gguf"]["quant_type"] == "Q4_1"
    assert model["gguf"]["file"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    log = [json.loads(line) for line in (run / "train" / "metrics.jsonl").read_text().splitlines()]
    assert max(r.get("step", 0) for r in log) == 2  # eight records: two steps of four
    assert (run / "train" / "adapter" / "adapter_config.json").is_file()

    answered = _cli("answer", str(config), "-q", "After how many failed deliveries is a message "
                    "moved to the dead letter topic?", "-c", DOC.split("# Quotas")[0],
                    cwd=tmp_path)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    result = json.loads(answered.stdout)
    assert result["model"] == "smollm2-135m-instruct" and result["task"] == "causal_lm"
    assert result["raw_answer"].strip()
    assert [g["gate"] for g in result["gates"]] == ["no_answer_prob"]
    assert 0.0 <= result["gates"][0]["value"] <= 1.0
    assert isinstance(result["rejection_flag"], bool)
