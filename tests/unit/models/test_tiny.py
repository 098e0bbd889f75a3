"""The built-in tiny model, its tokenizer, the shared chat template and model loading."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunesmith.config.model import ModelConfig, TinyModelConfig
from tunesmith.models import tiny
from tunesmith.models.availability import ModelNotFoundError
from tunesmith.models.chat import CHAT_TEMPLATE, build_messages, ensure_chat_template
from tunesmith.models.loading import (
    ModelLoadError,
    load_causal_lm,
    load_tokenizer,
    resolve_base_model,
)

CORPUS = [
    "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.\n\n"
    "It takes place in the chloroplasts of plant cells.",
    "The Amazon river carries more water than any other river; its basin spans nine countries.",
]
SMALL = TinyModelConfig(
    hidden_size=32,
    layers=2,
    heads=2,
    vocab_size=300,
    max_position_embeddings=128,
    pretrain_seq_len=32,
    pretrain_batch_size=4,
    pretrain_max_steps=3,
)


@pytest.fixture(scope="module")
def tokenizer():
    return tiny.train_tokenizer(CORPUS, 400)


@pytest.mark.parametrize(
    "text",
    [*CORPUS, "odd  spacing ,  .\t\ttabs ünïcödé 🎉 and [No sufficient context]", " lead", ""],
)
def test_tokenizer_round_trips_any_text(tokenizer, text: str) -> None:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_tokenizer_special_tokens_are_single_ids(tokenizer) -> None:
    specials = (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token)
    assert specials == ("<s>", "</s>", "<pad>")
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3
    for token in ("<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"):
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    # the abstention text is ordinary text, so the model can generate it token by token
    abstain = tokenizer("[No sufficient context]", add_special_tokens=False)["input_ids"]
    assert not set(abstain) & set(tokenizer.all_special_ids)
    assert tokenizer.chat_template == CHAT_TEMPLATE


def test_assistant_mask_covers_exactly_answer_and_eos(tokenizer) -> None:
    answer = "in Paris, since 1889"
    messages = build_messages(CORPUS[0], "Where is the tower?", "Answer from the context.")
    messages.append({"role": "assistant", "content": answer})
    out = tokenizer.apply_chat_template(
        messages, return_assistant_tokens_mask=True, return_dict=True
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    masked = [i for i, m in zip(ids, mask, strict=True) if m]
    assert tokenizer.decode(masked) == answer + "</s>"
    assert masked[-1] == tokenizer.eos_token_id
    # the masked tokens are one contiguous run
    first = mask.index(1)
    assert mask[first : first + len(masked)] == [1] * len(masked)


def test_generation_prompt_is_prefix_of_full_conversation(tokenizer) -> None:
    messages = build_messages("ctx", "q?", "sys")
    assert messages[1]["content"] == "Context: ctx\nQuestion: q?"
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": "A."}], tokenize=False
    )
    assert full.startswith(prompt)
    assert full[len(prompt) :] == "A.</s>\n"
    prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    full_ids = tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": "A."}])
    if isinstance(prompt_ids, dict) or hasattr(prompt_ids, "keys"):
        prompt_ids, full_ids = prompt_ids["input_ids"], full_ids["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids


def test_ensure_chat_template_keeps_an_existing_one() -> None:
    class Tok:
        chat_template = "{{ own }}"

    assert ensure_chat_template(Tok()).chat_template == "{{ own }}"
    Tok.chat_template = None  # type: ignore[assignment]
    assert ensure_chat_template(Tok()).chat_template == CHAT_TEMPLATE


def test_build_tiny_model_saves_loadable_model_and_caches(tmp_path: Path, monkeypatch) -> None:
    path = tiny.build_tiny_model(CORPUS, SMALL, seed=0, cache_root=tmp_path, progress=False)
    assert path.parent == tmp_path / "tiny"
    assert list(path.parent.iterdir()) == [path]  # no temporary folder left behind
    marker = json.loads((path / tiny.MARKER_FILE).read_text())
    assert len(marker["pretrain"]) == 3 and marker["config"]["hidden_size"] == 32
    assert (path / "model.safetensors").is_file()

    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert tokenizer.chat_template == CHAT_TEMPLATE and tokenizer.pad_token == "<pad>"
    # the same weights as a model built and pre-trained in memory with the same seed
    reference = tiny.build_llama(SMALL, tiny.train_tokenizer(CORPUS, 300, model_max_length=128))
    tiny.pretrain(reference, tokenizer, CORPUS, SMALL, seed=0, progress=False)
    ids = tokenizer(CORPUS[0], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, reference(ids).logits, atol=1e-5)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached model was rebuilt")

    monkeypatch.setattr(tiny, "pretrain", must_not_run)
    assert tiny.build_tiny_model(CORPUS, SMALL, seed=0, cache_root=tmp_path) == path
    with pytest.raises(AssertionError, match="rebuilt"):  # another seed is another model
        tiny.build_tiny_model(CORPUS, SMALL, seed=1, cache_root=tmp_path)
    assert list(path.parent.iterdir()) == [path]  # the failed build left nothing behind


def test_loading_helpers_and_resolve_base_model(tmp_path: Path, monkeypatch) -> None:
    cfg = ModelConfig(name="tiny", tiny=SMALL, cache_dir=str(tmp_path))
    path = resolve_base_model(cfg, CORPUS, seed=0)
    assert Path(path).parent == tmp_path / "tiny"
    model = load_causal_lm(path, dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    assert load_tokenizer(path).chat_template == CHAT_TEMPLATE
    hub = ModelConfig(name="Qwen/Qwen2.5-0.5B")
    # offline (the tests' setting), a Hub name missing from the cache fails at the model stage
    with pytest.raises(ModelNotFoundError, match="not in the local Hugging Face cache"):
        resolve_base_model(hub, CORPUS, seed=0)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # online: from_pretrained downloads it later
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert resolve_base_model(hub, CORPUS, seed=0) == "Qwen/Qwen2.5-0.5B"


def test_default_cache_root(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path))
    assert tiny.default_cache_root(ModelConfig()) == tmp_path
    assert tiny.default_cache_root(ModelConfig(cache_dir="/x")) == Path("/x")
    monkeypatch.delenv("TUNESMITH_CACHE")
    assert tiny.default_cache_root(ModelConfig()) == Path.home() / ".cache" / "tunesmith"


def test_pretraining_reduces_loss() -> None:
    cfg = SMALL.model_copy(update={"pretrain_max_steps": 30, "pretrain_learning_rate": 1e-2})
    tokenizer = tiny.train_tokenizer(CORPUS, 300)
    model = tiny.build_llama(cfg, tokenizer)
    history = tiny.pretrain(model, tokenizer, CORPUS * 4, cfg, seed=0, progress=False)
    assert [h["step"] for h in history] == list(range(1, 31))
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]


def test_zero_minutes_means_no_steps() -> None:
    cfg = SMALL.model_copy(update={"pretrain_minutes": 0.0})
    tokenizer = tiny.train_tokenizer(CORPUS, 300)
    model = tiny.build_llama(cfg, tokenizer)
    assert tiny.pretrain(model, tokenizer, CORPUS, cfg, seed=0, progress=False) == []


@pytest.mark.parametrize("name", ["./no/such/model", "/definitely/missing", "no-org/no-model-xyz"])
def test_missing_model_raises_model_load_error(name: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="offline|no such folder"):
        load_causal_lm(name)
    with pytest.raises(ModelLoadError):
        load_tokenizer(name)
