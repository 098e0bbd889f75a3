"""The mitigations on a real tiny causal LM: the EWC penalty is zero at θ* and its gradient
points back to θ*; EWC holds a training run closer to θ*; the replay share is the config's and
replayed examples keep the plain chat format; the curriculum's weight decays 0.5 → 0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import TrainerControl, TrainerState, TrainingArguments

from tunesmith.config import parse_config
from tunesmith.data.formats.examples import to_examples
from tunesmith.data.schema import QARecord, read_records, write_records
from tunesmith.errors import TunesmithError
from tunesmith.forgetting import build_mitigations
from tunesmith.forgetting.curriculum import CurriculumCallback, old_task_weight
from tunesmith.forgetting.ewc import EWCPenalty, diagonal_fisher
from tunesmith.forgetting.replay import (
    TARGETS_FILE,
    base_replies,
    replay_count,
    replay_records,
    targets_fingerprint,
)
from tunesmith.forgetting.sets import fisher_passages, replay_prompts
from tunesmith.methods import METHODS
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.utils.io import write_json_atomic

FACTS = ["The broker listens on port 7420 by default.",
         "The retention period is seven days.",
         "Photosynthesis converts light energy into chemical energy."]


def _config(tmp_path: Path, extra: str = "", steps: int = 4) -> Any:
    text = ("name: t\ndata:\n  sources:\n    - {path: docs/}\nmethod:\n  name: lora\n"
            "train:\n  batch_size: 2\n  max_length: 256\n  logging_steps: 1\n"
            f"  learning_rate: 2.0e-2\n  max_steps: {steps}\n" + extra)
    return parse_config(text, tmp_path / "t.yaml")


def _lora_model(tiny_lm: str, tmp_path: Path) -> Any:
    method = METHODS.get("lora")()
    torch.manual_seed(0)
    return method.prepare(load_causal_lm(tiny_lm), _config(tmp_path).method.options)


def _penalty(tiny_lm: str, model: Any, strength: float = 3.0) -> EWCPenalty:
    ewc = EWCPenalty(strength, fisher_passages()[:3], max_length=32)
    ewc.consolidate(model, load_tokenizer(tiny_lm))
    return ewc


def test_penalty_is_zero_at_the_anchor_and_its_gradient_points_back(tiny_lm: str,
                                                                    tmp_path: Path) -> None:
    model = load_causal_lm(tiny_lm)  # full fine-tuning: every parameter is pulled
    ewc = _penalty(tiny_lm, model)
    assert ewc.fisher_stats["parameters_pulled"] > 0
    assert float(ewc(model).detach()) == 0.0
    torch.manual_seed(1)
    with torch.no_grad():
        for a in ewc.anchors:
            a.param.add_(0.01 * torch.randn_like(a.param))
    model.zero_grad(set_to_none=True)
    value = ewc(model)
    assert float(value) > 0
    value.backward()
    along = 0.0
    grads = []
    for a in ewc.anchors:
        grad = a.param.grad
        assert grad is not None
        grads.append(grad)
        offset = a.param.detach() - a.start
        expected = 2 * ewc.strength * a.fisher * offset  # d/dθ λ F (θ − θ*)²
        assert torch.allclose(grad, expected, rtol=1e-4, atol=1e-12)
        pulled = a.fisher > 0
        # descent (−grad) points from θ towards θ*, coordinate by coordinate
        assert torch.equal(torch.sign(-grad[pulled]), torch.sign(-offset[pulled]))
        along += float((grad * offset).sum())
    assert along > 0
    before = float(ewc.penalty())
    with torch.no_grad():  # one small gradient step lowers the penalty
        for a, grad in zip(ewc.anchors, grads, strict=True):
            a.param.sub_(0.1 * grad / (2 * ewc.strength * a.fisher.max()))
    assert float(ewc.penalty()) < before


def test_lora_anchor_is_the_merged_base(tiny_lm: str, tmp_path: Path) -> None:
    model = _lora_model(tiny_lm, tmp_path)
    ewc = _penalty(tiny_lm, model)
    names = [a.name for a in ewc.anchors]
    # B starts at zero, so A's gradient (and Fisher) is zero: only B is pulled back
    assert names and all("lora_B" in n for n in names)
    assert all(float(a.start.abs().max()) == 0.0 for a in ewc.anchors)  # θ* = B = 0: W + BA = W
    assert float(ewc(model)) == 0.0
    assert ewc.fisher_stats["parameters_pulled"] < ewc.fisher_stats["parameters_trainable"]


def test_fisher_is_the_mean_squared_per_token_gradient(tiny_lm: str) -> None:
    model = load_causal_lm(tiny_lm)
    tokenizer = load_tokenizer(tiny_lm)
    text = fisher_passages()[0]
    fisher = diagonal_fisher(model, tokenizer, [text], max_length=16)
    ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=16)["input_ids"]
    logits = model(input_ids=ids).logits
    loss = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="sum")
    name, param = next((n, p) for n, p in model.named_parameters() if p.requires_grad)
    (grad,) = torch.autograd.grad(loss, param)
    assert torch.allclose(fisher[name], grad.pow(2) / (ids.shape[1] - 1), rtol=1e-4)
    assert all(p.grad is None for p in model.parameters())  # left clean for the Trainer


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    records = [QARecord(id=f"r{i}", question=f"Question {i} about the text?",
                        contexts=[FACTS[i % 3]], answer=FACTS[i % 3].split()[1])
               for i in range(18)]
    write_records(folder / "train.jsonl", records)
    write_records(folder / "val.jsonl", records[:2])
    return folder


def test_ewc_holds_training_closer_to_the_anchor(tiny_lm: str, data_dir: Path,
                                                 tmp_path: Path) -> None:
    from tunesmith.train.sft import train_sft

    moved = {}
    # the same Fisher and θ* for both runs (same base, seed and adapter initialisation); a
    # vanishing λ measures how far plain training moves in the Fisher's metric
    for label, strength in (("none", 1.0e-12), ("ewc", 1.0e5)):
        extra = (f"  forgetting:\n    ewc: {{enabled: true, strength: {strength}, "
                 "fisher_texts: 4}\n")
        config = _config(tmp_path, extra, steps=12)  # Adam needs a few steps to turn back
        out = tmp_path / label
        m = build_mitigations(config, tiny_lm, data_dir, out)
        train_sft(config, tiny_lm, data_dir, out, extra_losses=m.extra_losses,
                  extra_records=m.extra_records, callbacks=m.callbacks)
        assert m.ewc is not None and m.ewc.last_penalty is not None
        assert m.summary()["ewc"]["parameters_pulled"] > 0 and m.label == "ewc"
        moved[label] = float(m.ewc.penalty())  # Σ F (θ − θ*)² of the trained adapter
    assert moved["none"] > 0
    assert moved["ewc"] < 0.2 * moved["none"]


@pytest.mark.parametrize(("n_task", "share"), [(483, 0.1), (18, 0.1), (100, 0.25), (7, 0.5)])
def test_replay_share_is_the_configured_one(n_task: int, share: float) -> None:
    n = replay_count(n_task, share)
    assert abs(n / (n_task + n) - share) <= 0.5 / (n_task + n) + 1e-9  # to the nearest record
    with pytest.raises(ValueError):
        replay_count(10, 1.0)


def test_replay_builds_the_share_from_the_base_models_own_replies(tiny_lm: str, data_dir: Path,
                                                                 tmp_path: Path) -> None:
    config = _config(tmp_path, "  forgetting:\n    replay: {enabled: true, share: 0.25, "
                     "max_new_tokens: 8}\n")
    # the tiny model never stops within 8 tokens, and a reply cut off is no target: its
    # replies stand in the cache as the base model's (the cache is keyed by model and prompts)
    prompts = list(replay_prompts())
    work = tmp_path / "train"
    write_json_atomic(work / TARGETS_FILE, {
        "fingerprint": targets_fingerprint(tiny_lm, prompts, 8),
        "targets": [{"prompt": p, "reply": f"Reply {i}."} for i, p in enumerate(prompts[:4])]})
    m = build_mitigations(config, tiny_lm, data_dir, work)
    n_task = len(read_records(data_dir / "train.jsonl"))
    assert len(m.extra_records) == replay_count(n_task, 0.25) == 6
    assert m.extra_records and m.replay is not None and m.replay["replayed_examples"] == 6
    assert len(m.extra_records) / (n_task + len(m.extra_records)) == 0.25
    assert [r.answer for r in m.extra_records[:5]] == [f"Reply {i}." for i in (0, 1, 2, 3, 0)]
    assert m.label == "replay" and m.replay["distinct_prompts"] == 4
    # the plain chat format: the prompt alone, no context and no guard system message
    example = to_examples(m.extra_records[:1], config.guard)[0]
    assert example["prompt"] == [{"role": "user", "content": m.extra_records[0].question}]
    assert example["completion"][0]["content"] == m.extra_records[0].answer
    task = to_examples(read_records(data_dir / "train.jsonl")[:1], config.guard)[0]
    assert task["prompt"][0]["role"] == "system"  # task records keep the RAG format


def test_replies_cut_off_at_the_limit_are_no_targets(tiny_lm: str, tmp_path: Path) -> None:
    config = _config(tmp_path, "  forgetting:\n    replay: {enabled: true, max_new_tokens: 8}\n")
    assert base_replies(config, tiny_lm, ["Name a colour.", "Say hello."]) == []
    with pytest.raises(TunesmithError, match="replay.max_new_tokens"):
        replay_records([], 3)


def test_replay_repeats_targets_in_order() -> None:
    targets = [{"prompt": "a?", "reply": "A."}, {"prompt": "b?", "reply": "B."}]
    records = replay_records(targets, 5)
    assert [r.question for r in records] == ["a?", "b?", "a?", "b?", "a?"]
    assert len({r.id for r in records}) == 5


def test_curriculum_decays_from_half_to_a_tenth() -> None:
    assert old_task_weight(0.0, 0.5, 0.1) == 0.5
    assert old_task_weight(1.0, 0.5, 0.1) == pytest.approx(0.1)
    assert old_task_weight(0.5, 0.5, 0.1) == pytest.approx(0.3)

    class Term:
        weight = 1.0

    term = Term()
    callback = CurriculumCallback(term, 0.5, 0.1)
    state = TrainerState()
    state.max_steps = 11
    seen = []
    for step in range(11):
        state.global_step = step
        callback.on_step_begin(TrainingArguments(output_dir="/tmp/unused"), state,
                               TrainerControl())
        seen.append(term.weight)
    assert seen[0] == 0.5 and seen[-1] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(seen, seen[1:], strict=False))


def test_curriculum_needs_ewc(tmp_path: Path) -> None:
    from tunesmith.config import ConfigError

    with pytest.raises(ConfigError, match="curriculum.enabled needs ewc.enabled"):
        _config(tmp_path, "  forgetting:\n    curriculum: {enabled: true}\n")
