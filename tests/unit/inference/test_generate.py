"""The one generator and the one loader, on a tiny causal LM."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.inference import build_prompts, generate, generate_answers, load_predictor
from tunesmith.inference.generate import (
    Generation,
    _generate_into,
    abstain_token_ids,
    sequence_prob,
)
from tunesmith.inference.multitask_head import AnswerabilityHead
from tunesmith.models.chat import build_messages

generate_module = importlib.import_module("tunesmith.inference.generate")

QUESTIONS = ["Which port does the broker listen on?", "How long is the retention period?",
             "What does photosynthesis convert?"]
CONTEXTS = ["The broker listens on port 7420 by default.",
            "The retention period is seven days, a longer text than the others by some words.",
            "Photosynthesis converts light energy."]


def _config(tmp_path: Path, **eval_: object) -> RunConfig:
    return RunConfig.model_validate({
        "name": "inf", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(tmp_path)}]},
        "eval": {"max_new_tokens": 4, "batch_size": 2, **eval_},
    })


def test_load_predictor_base_and_missing_tuned(
        tmp_path: Path, run_with_base: Callable[[Path], Path], tiny_lm: str) -> None:
    config = _config(tmp_path)
    run = run_with_base(config.run_dir)
    base = load_predictor(config, run, "base")
    assert base.kind == "causal_lm" and base.label == "base" and base.head is None
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(base.model.parameters()).device.type == expected
    assert not base.model.training
    with pytest.raises(TunesmithError, match="no trained model"):
        load_predictor(config, run, "tuned")
    with pytest.raises(TunesmithError, match="model stage has not run"):
        load_predictor(config, tmp_path / "elsewhere", "base")
    # compare gives the base model itself; no run folder needed
    assert load_predictor(config, None, "base", base_model=tiny_lm).kind == "causal_lm"


def test_prompts_are_the_chat_template_of_build_messages(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    system = config.guard.system_message()
    prompts = build_prompts(predictor.tokenizer, QUESTIONS, CONTEXTS, system)
    assert prompts[0] == predictor.tokenizer.apply_chat_template(
        build_messages(CONTEXTS[0], QUESTIONS[0], system), add_generation_prompt=True,
        tokenize=False)


def test_batched_generation_keeps_order_and_scores_tokens(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    system = config.guard.system_message()
    plain = generate_answers(predictor, QUESTIONS, CONTEXTS, system, 4, batch_size=2)
    assert len(plain) == 3 and all(a.token_probs == [] and a.p_unanswerable is None
                                   for a in plain)
    scored = generate_answers(predictor, QUESTIONS, CONTEXTS, system, 4, batch_size=2,
                              scores=True)
    for a in scored:
        assert 0 < len(a.token_probs) <= 4 or a.text == ""
        assert all(0.0 < p <= 1.0 for p in a.token_probs)
    # one at a time (no padding) gives each answer in its place
    prompts = build_prompts(predictor.tokenizer, QUESTIONS, CONTEXTS, system)
    alone = [generate(predictor.model, predictor.tokenizer, [p], 4)[0].text for p in prompts]
    assert [a.text for a in plain] == alone


def test_multitask_head_reads_the_last_prompt_token(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    torch.manual_seed(0)
    head = AnswerabilityHead(predictor.model.config.hidden_size).eval()
    prompt = build_prompts(predictor.tokenizer, QUESTIONS[:1], CONTEXTS[:1],
                           config.guard.system_message())
    out = generate(predictor.model, predictor.tokenizer, prompt, 3, head=head)[0]
    batch = predictor.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        hidden = predictor.model(**batch, output_hidden_states=True).hidden_states[-1][:, -1]
        expected = torch.softmax(head(hidden), dim=-1)[0, 0].item()
    assert out.p_unanswerable == pytest.approx(expected, abs=1e-5)


def test_p_no_answer_is_the_models_probability_of_the_abstention(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    tokenizer, model = predictor.tokenizer, predictor.model
    system, abstain = config.guard.system_message(), config.guard.abstain_text
    prompts = build_prompts(tokenizer, QUESTIONS, CONTEXTS, system)
    assert generate(model, tokenizer, prompts, 2, scores=True)[0].p_no_answer is None
    assert generate(model, tokenizer, prompts, 2, abstain_text=abstain)[0].p_no_answer is None
    # batched with left padding (prompts of different lengths), as compute_signals asks for it
    out = generate_answers(predictor, QUESTIONS, CONTEXTS, system, 4, batch_size=3,
                           scores=True, abstain_text=abstain)
    ids = tokenizer(abstain, add_special_tokens=False)["input_ids"]
    assert abstain_token_ids(tokenizer, prompts[0], abstain) == ids  # after "<|assistant|>\n"
    for prompt, generation in zip(prompts, out, strict=True):
        assert generation.p_no_answer is not None and 0.0 <= generation.p_no_answer <= 1.0
        # the reference: one plain forward pass over prompt + abstention, no padding
        full = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        n = full.shape[1]
        full = torch.cat([full, torch.tensor([ids])], dim=1)
        with torch.no_grad():
            logp = torch.log_softmax(model(full).logits[0].float(), dim=-1)
        first = logp[n - 1, ids[0]].exp().item()
        whole = sum(logp[n - 1 + j, t].item() for j, t in enumerate(ids))
        assert generation.p_no_answer <= first + 1e-6
        assert math.log(generation.p_no_answer) == pytest.approx(whole, abs=1e-4)
        # the same number without generation's cache (one forward from scratch)
        tokenizer.padding_side = "left"
        batch = tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            assert sequence_prob(model, batch, ids)[0] == pytest.approx(
                generation.p_no_answer, rel=1e-4)
        # the first token alone is the softmax of the last prompt position
        with torch.no_grad():
            assert sequence_prob(model, batch, ids[:1])[0] == pytest.approx(first, abs=1e-5)


def test_suppressing_the_first_token_changes_the_reply(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    tokenizer, model = predictor.tokenizer, predictor.model
    prompts = build_prompts(tokenizer, QUESTIONS, CONTEXTS, config.guard.system_message())
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts[:1], return_tensors="pt", add_special_tokens=False)
    first = int(model.generate(**batch, max_new_tokens=1, do_sample=False,
                               pad_token_id=tokenizer.pad_token_id)[0, -1])
    out = [Generation("")]
    _generate_into(out, [0], model, tokenizer, prompts, torch.device("cpu"), 1, 1, False, None,
                   [], [first], lambda n: None)
    again = int(model.generate(**batch, max_new_tokens=1, do_sample=False,
                               pad_token_id=tokenizer.pad_token_id,
                               begin_suppress_tokens=[first])[0, -1])
    assert again != first  # what _generate_into asks generate for


def test_no_answer_threshold_regenerates_only_unlikely_abstentions(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    predictor = load_predictor(config, run_with_base(config.run_dir), "base")
    abstain = config.guard.abstain_text
    calls: list[tuple[list[int], list[int]]] = []
    first_pass = [Generation(abstain, p_no_answer=0.3), Generation(abstain, p_no_answer=0.8),
                  Generation("7420", p_no_answer=0.1)]

    def fake(out: list[Generation], indices: Any, *args: Any, **kwargs: Any) -> None:
        suppress = list(args[-2])
        calls.append((list(indices), suppress))
        for i in indices:
            out[i] = first_pass[i] if not suppress else Generation("seven days", p_no_answer=0.0)

    monkeypatch.setattr(generate_module, "_generate_into", fake)
    prompts = build_prompts(predictor.tokenizer, QUESTIONS, CONTEXTS, "")
    out = generate(predictor.model, predictor.tokenizer, prompts, 4, abstain_text=abstain,
                   no_answer_threshold=0.5)
    assert [g.text for g in out] == ["seven days", abstain, "7420"]
    assert [g.p_no_answer for g in out] == [0.3, 0.8, 0.1]  # the first pass's evidence
    ids = abstain_token_ids(predictor.tokenizer, prompts[0], abstain)
    assert calls == [([0, 1, 2], []), ([0], [ids[0]])]
    calls.clear()
    generate(predictor.model, predictor.tokenizer, prompts, 4, abstain_text=abstain)
    assert calls == [([0, 1, 2], [])]  # no threshold: greedy decides alone


@pytest.mark.parametrize("method", ["lora", "prompt_tuning"])
def test_tuned_model_is_merged_for_answering_where_the_method_can(
        tmp_path: Path, tiny_lm: str, method: str) -> None:
    from tunesmith.methods import METHODS
    from tunesmith.models.loading import load_causal_lm

    m = METHODS.get(method)()
    tuned = m.prepare(load_causal_lm(tiny_lm), m.Options.model_validate({}))
    with torch.no_grad():  # a LoRA whose update is not zero (B starts at zero)
        for name, param in tuned.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    m.save(tuned, tmp_path / "adapter")
    config = _config(tmp_path)
    ids = torch.tensor([[1, 5, 9, 14, 3]])

    kept = load_predictor(config, None, "tuned", base_model=tiny_lm,
                          weights=tmp_path / "adapter", merge=False).model
    merged = load_predictor(config, None, "tuned", base_model=tiny_lm,
                            weights=tmp_path / "adapter").model
    off = load_predictor(_config(tmp_path, merge_adapter=False), None, "tuned",
                         base_model=tiny_lm, weights=tmp_path / "adapter").model
    assert getattr(kept, "peft_config", None) and getattr(off, "peft_config", None)
    if method == "lora":  # folded in: a plain model with the same outputs
        assert not getattr(merged, "peft_config", None)
        with torch.no_grad():
            a, b = kept(ids).logits, merged(ids).logits
        assert torch.allclose(a, b, atol=1e-4)
        assert not torch.allclose(a, load_causal_lm(tiny_lm)(ids).logits, atol=1e-3)
    else:  # virtual tokens cannot merge: answered as saved
        assert getattr(merged, "peft_config", None)
