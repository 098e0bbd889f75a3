"""Shared prompt prefixes: the groups, the batches, and answers equal to running each prompt
whole, on the tiny causal LM."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config import RunConfig
from tunesmith.inference import build_instruction_prompts, build_prompts, generate, load_predictor
from tunesmith.inference.multitask_head import AnswerabilityHead
from tunesmith.inference.prefix import PrefixGroup, group_by_prefix, plan_batches

generate_module = importlib.import_module("tunesmith.inference.generate")

LONG = ("The broker listens on port 7420 by default. Version 2.1 was released in March 2021. "
        "The retention period is seven days.")
OTHER = "Photosynthesis converts light energy into chemical energy stored in glucose."
# three questions on one context, two on another, one alone, and an instruction
QUESTIONS = ["Which port does the broker listen on?", "When was version 2.1 released?",
             "How long is the retention period?", "What does photosynthesis convert?",
             "Where is the energy stored?", "Which port?"]
CONTEXTS = [LONG, LONG, LONG, OTHER, OTHER, "The console uses the token in HL_TOKEN."]


def test_groups_are_the_longest_common_prefixes_worth_sharing() -> None:
    system = list(range(40))
    a, b = [*system, *range(100, 160)], [*system, *range(200, 250)]
    ids = [[*a, 1], [*b, 2], [*a, 3, 4], [*b, 5], [*a, 6], [7, 8, 9]]
    groups = sorted((g.prefix, sorted(g.members)) for g in group_by_prefix(ids))
    # one group per context (not one for all on the system message), the rest alone
    assert groups == [(0, [5]), (len(b), [1, 3]), (len(a), [0, 2, 4])]
    # too short to pay: nothing shared
    assert all(g.prefix == 0 for g in group_by_prefix([[*system[:10], 1], [*system[:10], 2]]))
    # identical prompts: each keeps its last token to start generation from
    assert group_by_prefix([a, a]) == [PrefixGroup(len(a) - 1, (0, 1))]
    assert group_by_prefix([]) == []


def test_batches_keep_groups_whole_where_they_fit() -> None:
    groups = [PrefixGroup(50, (0, 1, 2, 3, 4)), PrefixGroup(40, (5, 6)),
              PrefixGroup(0, (7,)), PrefixGroup(0, (8,))]
    lengths = [60, 61, 62, 63, 64, 45, 46, 10, 90]
    batches = plan_batches(groups, lengths, batch_size=3)
    assert sorted(r.index for b in batches for r in b) == list(range(9))
    assert all(len(b) <= 3 for b in batches)
    # the group of five in pieces of three and two, the pair whole, the prompts alone apart
    shared = [sorted(r.index for r in b) for b in batches if b[0].prefix]
    assert sorted(shared) == [[0, 1, 2], [3, 4], [5, 6]]
    assert [[r.index for r in b] for b in batches if not b[0].prefix] == [[7, 8]]


@pytest.fixture
def setup(tmp_path: Path, run_with_base: Callable[[Path], Path]) -> tuple[object, list[str], str]:
    config = RunConfig.model_validate({
        "name": "inf", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(tmp_path)}]}})
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    prompts = (build_prompts(predictor.tokenizer, QUESTIONS, CONTEXTS,
                             config.guard.system_message())
               + build_instruction_prompts(predictor.tokenizer, ["Name a colour."]))
    return predictor, prompts, config.guard.abstain_text


def test_shared_prefixes_answer_as_whole_prompts(
        monkeypatch: pytest.MonkeyPatch, setup: tuple[object, list[str], str]) -> None:
    predictor, prompts, abstain = setup
    model, tokenizer = predictor.model, predictor.tokenizer  # type: ignore[attr-defined]
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    groups = {tuple(sorted(g.members)): g.prefix for g in group_by_prefix(ids)}
    assert groups.get((0, 1, 2), 0) >= 32 and groups.get((3, 4), 0) >= 32  # sharing happens
    torch.manual_seed(0)
    head = AnswerabilityHead(model.config.hidden_size).eval()
    kwargs = {"scores": True, "head": head, "abstain_text": abstain,
              "no_answer_threshold": 0.5}
    caches: list[dict[str, Any]] = []
    real = generate_module._prefix_cache
    monkeypatch.setattr(generate_module, "_prefix_cache",
                        lambda *a: caches.append(real(*a)) or caches[-1])
    # batch_size 2: the group of three is cut in two batches
    shared = generate(model, tokenizer, prompts, 6, 2, shared_prefix=True, **kwargs)
    assert len(caches) >= 3 and all(caches)  # the pieces of both groups ran from a cache
    caches.clear()
    whole = generate(model, tokenizer, prompts, 6, 2, shared_prefix=False, **kwargs)
    assert caches == []
    alone = [generate(model, tokenizer, [p], 6, **kwargs)[0] for p in prompts]
    for s, w, a in zip(shared, whole, alone, strict=True):
        assert s.text == w.text == a.text and s.tokens == w.tokens
        assert s.token_probs == pytest.approx(w.token_probs, abs=1e-4)
        assert s.token_probs == pytest.approx(a.token_probs, abs=1e-4)
        assert s.p_no_answer == pytest.approx(w.p_no_answer, rel=1e-3, abs=1e-7)
        assert s.p_unanswerable == pytest.approx(w.p_unanswerable, abs=1e-5)
    # a batch bigger than the groups: several prefixes of different lengths in one batch
    packed = generate(model, tokenizer, prompts, 6, 16, **kwargs)
    assert [g.text for g in packed] == [g.text for g in whole]
    assert [g.p_no_answer for g in packed] == pytest.approx(
        [g.p_no_answer for g in whole], rel=1e-3, abs=1e-7)


@pytest.mark.parametrize("method", ["lora", "prompt_tuning"])
def test_an_unmerged_adapter_answers_the_same_shared_or_not(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_lm: str,
        setup: tuple[object, list[str], str], method: str) -> None:
    from tunesmith.methods import METHODS  # the adapters' machinery, only for this test
    from tunesmith.models.loading import load_causal_lm

    _, prompts, _ = setup
    m = METHODS.get(method)()
    tuned = m.prepare(load_causal_lm(tiny_lm), m.Options.model_validate({}))
    with torch.no_grad():  # a LoRA whose update is not zero (B starts at zero)
        for name, param in tuned.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    m.save(tuned, tmp_path / "adapter")
    config = RunConfig.model_validate({
        "name": "inf", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(tmp_path)}]}})
    predictor = load_predictor(config, None, "tuned", base_model=tiny_lm,
                               weights=tmp_path / "adapter", merge=False)
    assert getattr(predictor.model, "peft_config", None)  # answered through PEFT's wrapper
    model, tokenizer = predictor.model, predictor.tokenizer
    caches: list[dict[str, Any]] = []
    real = generate_module._prefix_cache
    monkeypatch.setattr(generate_module, "_prefix_cache",
                        lambda *a: caches.append(real(*a)) or caches[-1])
    shared = generate(model, tokenizer, prompts, 5, 4, scores=True)
    # a LoRA's cache is shared; virtual tokens before every input keep each prompt whole
    assert (len(caches) > 0 and all(caches)) if method == "lora" else caches == []
    whole = generate(model, tokenizer, prompts, 5, 4, scores=True, shared_prefix=False)
    assert [g.text for g in shared] == [g.text for g in whole]
    for s, w in zip(shared, whole, strict=True):
        assert s.token_probs == pytest.approx(w.token_probs, abs=1e-4)
