"""The guard on a causal LM, through the CLI: run (with the multitask head), calibrate, eval,
answer. A tiny built-in model; the numbers do not matter, the paths and the outputs do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tunesmith.guard import validate_output
from tunesmith.train.multitask import (
    MultitaskLoss,
    confidence_kl,
    prompt_end_positions,
)

FACT = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.
"""

CONFIG = """\
schema_version: 1
name: cg
output_dir: {out}
model:
  tiny: {{hidden_size: 32, layers: 2, heads: 2, vocab_size: 400, pretrain_minutes: 0.2,
          pretrain_max_steps: 10, pretrain_batch_size: 4, pretrain_seq_len: 64}}
  cache_dir: {cache}
data:
  sources: [{{path: docs}}]
  split: {{val: 0.25, test: 0.25}}
train: {{epochs: 1, batch_size: 4, logging_steps: 2}}
guard: {{multitask_lambda: 0.5, label_smoothing: 0.1}}
eval: {{max_new_tokens: 4}}
"""


def test_confidence_kl_is_cross_entropy_minus_label_entropy() -> None:
    logits = torch.tensor([[0.3, -0.2], [1.0, 2.0]])
    labels = torch.tensor([0, 1])
    ce = torch.nn.functional.cross_entropy(logits, labels)
    assert confidence_kl(logits, labels) == pytest.approx(float(ce), abs=1e-6)
    s = 0.1
    entropy = -(s * torch.log(torch.tensor(s)) + (1 - s) * torch.log(torch.tensor(1 - s)))
    smooth_ce = -(torch.log_softmax(logits, -1) * torch.tensor([[0.9, 0.1], [0.1, 0.9]])).sum(-1)
    assert confidence_kl(logits, labels, s) == pytest.approx(
        float(smooth_ce.mean() - entropy), abs=1e-6)


def test_prompt_end_is_the_token_before_the_answer() -> None:
    labels = torch.tensor([[-100, -100, -100, 5, 6], [-100, 7, 8, 9, -100]])
    assert prompt_end_positions(labels).tolist() == [2, 0]


def test_multitask_loss_trains_its_head_in_backward() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2))
    loss_fn = MultitaskLoss(1.0, 0.0, lambda ids: ids != [9], learning_rate=0.05)
    ids = torch.randint(0, 50, (4, 8))
    labels = torch.full_like(ids, -100)
    labels[:2, 6:] = torch.tensor([3, 4])
    labels[2:, 6:] = torch.tensor([9, -100])  # the "abstention" completion: unanswerable
    inputs = {"input_ids": ids, "labels": labels}
    losses = []
    for _ in range(15):
        outputs = model(**inputs)
        term = loss_fn(model, inputs, outputs)
        (outputs.loss + term).backward()
        model.zero_grad()
        losses.append(float(term.detach()))
    assert losses[-1] < losses[0] * 0.5  # the head learns the two labels


@pytest.mark.slow
def test_causal_guard_through_the_cli(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(1, 9):
        (docs / f"d{i}.md").write_text(FACT.format(i=i), encoding="utf-8")
    config = tmp_path / "tunesmith.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "runs", cache=tmp_path / "cache"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tunesmith", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=1800)

    run = cli("run", str(config))
    assert run.returncode == 0, run.stderr[-3000:]
    run_dir = tmp_path / "runs" / "cg"
    assert (run_dir / "train" / "answerability_head.safetensors").exists()
    assert not (run_dir / "guard").exists()  # a causal LM calibrates on request
    calibrate = cli("calibrate", str(config), "--json")
    assert calibrate.returncode == 0, calibrate.stderr[-3000:]
    table = json.loads(calibrate.stdout)["tuned"]["table"]
    gates = {row["gate"] for row in table}
    assert {"multitask_head", "confidence", "perplexity", "similarity"} <= gates
    evaluated = cli("eval", str(config), "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    metrics = json.loads(evaluated.stdout)["metrics"]
    assert {"abstain_f1", "aurc", "hallucination_rate"} <= set(metrics["tuned"])
    answer = cli("answer", str(config), "-q", "Which port does broker 3 listen on?",
                 "-c", FACT.format(i=3))
    assert answer.returncode == 0, answer.stderr[-3000:]
    payload = json.loads(answer.stdout)
    validate_output(payload)
    assert payload["task"] == "causal_lm"
    assert any(g["gate"] == "multitask_head" and g["value"] is not None
               for g in payload["gates"])
