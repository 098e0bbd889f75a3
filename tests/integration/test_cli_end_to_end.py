"""The CLI end to end on a tiny config: the real stages, a real kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FACTS = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.

The configuration file {i} is stored in /etc/harborlight/h{i}.toml. The segment size {i}
defaults to {i}12 MB. The console {i} uses the token in HL_TOKEN_{i}.
"""

CONFIG = """\
schema_version: 1
name: e2e
output_dir: {out}
model:
  tiny: {{hidden_size: 32, layers: 2, heads: 2, vocab_size: 400, pretrain_minutes: 0.2,
          pretrain_max_steps: 15, pretrain_batch_size: 4, pretrain_seq_len: 64}}
  cache_dir: {cache}
data:
  sources: [{{path: docs}}]
  split: {{val: 0.2, test: 0.2}}
train: {{epochs: {epochs}, batch_size: 2, logging_steps: 2}}
eval: {{max_new_tokens: 6}}
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tunesmith", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _project(tmp_path: Path, epochs: int = 1) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(1, 9):
        (docs / f"d{i}.md").write_text(FACTS.format(i=i), encoding="utf-8")
    config = tmp_path / "tunesmith.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "runs", cache=tmp_path / "cache",
                                    epochs=epochs))
    return config


def test_misspelt_section_exits_2_without_traceback(tmp_path: Path) -> None:
    config = _project(tmp_path)
    config.write_text(config.read_text().replace("train:", "trian:"))
    result = _cli("validate", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "trian" in result.stderr and "did you mean 'train'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_init_writes_a_valid_starter(tmp_path: Path) -> None:
    assert _cli("init", str(tmp_path), cwd=tmp_path).returncode == 0
    assert _cli("validate", str(tmp_path / "tunesmith.yaml"), cwd=tmp_path).returncode == 0
    again = _cli("init", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 1 and "--force" in again.stderr


def test_missing_documents_is_a_clear_error(tmp_path: Path) -> None:
    config = _project(tmp_path)
    config.write_text(config.read_text().replace("path: docs", "path: nowhere"))
    result = _cli("data", "build", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "nowhere" in result.stderr and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_writes_the_run_folder_and_skips_when_up_to_date(tmp_path: Path) -> None:
    config = _project(tmp_path)
    result = _cli("run", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "runs" / "e2e"
    for name in ("data/train.jsonl", "data/val.jsonl", "data/test.jsonl", "data/stats.json",
                 "train/metrics.jsonl", "train/adapter/adapter_config.json",
                 "eval/predictions.jsonl", "report.html"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "eval" / "metrics.json").read_text())
    for label in ("base", "tuned"):
        assert {"exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
                "total"} <= set(metrics[label])
    for stage in ("data", "model", "train", "eval"):
        manifest = json.loads((run / stage / "manifest.json").read_text())
        assert manifest["stage"] == stage and manifest["config_hash"] and manifest["versions"]
    log = [json.loads(line) for line in (run / "train" / "metrics.jsonl").read_text().splitlines()]
    assert any("eval_loss" in row for row in log) and any("loss" in row for row in log)

    # the adapter loads through PEFT on the base named in its own config, and generates
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = run / "train" / "adapter"
    base_name = json.loads((adapter / "adapter_config.json").read_text())[
        "base_model_name_or_path"]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_name), adapter)
    tok = AutoTokenizer.from_pretrained(adapter)
    ids = tok("Context: x", return_tensors="pt")
    assert model.generate(**ids, max_new_tokens=3).shape[1] > ids["input_ids"].shape[1]

    mtime = (run / "data" / "train.jsonl").stat().st_mtime_ns
    again = _cli("run", str(config), cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.count("up to date, skipped") == 4
    assert (run / "data" / "train.jsonl").stat().st_mtime_ns == mtime

    changed = _cli("run", str(config), "--set", "eval.max_new_tokens=4", "--json", cwd=tmp_path)
    assert changed.returncode == 0
    result = json.loads(changed.stdout)  # --json: stdout holds the JSON alone
    assert result["stages"] == {"data": "skipped", "model": "skipped", "train": "skipped",
                                "eval": "ran"}
    assert set(result["metrics"]) == {"base", "tuned"}


def test_killed_training_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    config = _project(tmp_path, epochs=30)
    run = tmp_path / "runs" / "e2e"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tunesmith", "run", str(config)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    checkpoints = run / "train" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.5)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(checkpoints.glob("checkpoint-*")), "no checkpoint was written before the kill"
    assert not (run / "train" / "manifest.json").exists()
    data_mtime = (run / "data" / "train.jsonl").stat().st_mtime_ns

    result = _cli("train", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stdout
    assert "data: up to date, skipped" in result.stdout
    assert (run / "data" / "train.jsonl").stat().st_mtime_ns == data_mtime
    assert (run / "train" / "adapter" / "adapter_model.safetensors").exists()


def test_run_scores_eval_dataset_with_no_test_split(tmp_path: Path) -> None:
    """split.test 0 and eval.dataset: human questions (SQuAD JSON) are scored, not the split."""
    config = _project(tmp_path)
    context = FACTS.format(i=3)
    qas = [
        {"id": "h1", "question": "Which port does broker 3 listen on?", "is_impossible": False,
         "answers": [{"text": "7433", "answer_start": context.index("7433")}]},
        {"id": "h2", "question": "Who wrote the broker?", "is_impossible": True, "answers": []},
    ]
    squad = {"version": "v2.0",
             "data": [{"title": "c3", "paragraphs": [{"context": context, "qas": qas}]}]}
    (tmp_path / "human.json").write_text(json.dumps(squad), encoding="utf-8")
    text = config.read_text().replace("test: 0.2}", "test: 0}")
    config.write_text(text.replace("eval: {max_new_tokens: 6}",
                                   "eval: {max_new_tokens: 6, dataset: human.json}"))
    result = _cli("run", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    metrics = json.loads((tmp_path / "runs" / "e2e" / "eval" / "metrics.json").read_text())
    for label in ("base", "tuned"):
        assert metrics[label]["total"] == 2 and metrics[label]["eval_set"] == "human.json"
        assert {"exact", "f1", "HasAns_f1", "NoAns_f1", "hallucination_rate",
                "false_abstain_rate"} <= set(metrics[label])
