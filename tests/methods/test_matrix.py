"""One matrix over every registered method (PEFT's and the native ones) on a tiny LLaMA.

For each method with its default options: only the intended parameters train, they change after
one optimizer step and the frozen ones do not; save and load give identical logits; merge gives
identical logits (1e-5) where the method is mergeable and ``MergeNotSupportedError`` where not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from tunesmith.compat.bitsandbytes import fit_cpu_packing
from tunesmith.methods import METHODS, MergeNotSupportedError, TuningMethod
from tunesmith.methods.peft_methods import PeftMethod

PEFT_WRAPPING = re.compile(r"^base_model\.model\.|\.base_layer(?=\.)")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer LLaMA (hidden 32), saved so each method loads a fresh copy of the same base."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=128, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=64, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    return path


def _load_base(path: Path, method: TuningMethod, options: Any) -> Any:
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32,
                                                 **method.load_kwargs(options))
    return model


def _batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 128, (2, 12), generator=generator)
    return {"input_ids": ids, "labels": ids.clone(), "attention_mask": torch.ones_like(ids)}


def _logits(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(input_ids=batch["input_ids"],
                     attention_mask=batch["attention_mask"]).logits.float()


def _original_name(name: str) -> str:
    return PEFT_WRAPPING.sub("", name)


@pytest.mark.parametrize("name", METHODS.names())
def test_method(name: str, tiny_llama_dir: Path, tmp_path: Path) -> None:
    cls = METHODS.get(name)
    options = cls.Options()
    method = cls()
    method.total_steps = 10
    base = _load_base(tiny_llama_dir, method, options)
    original = {n for n, _ in base.named_parameters()}
    model = method.prepare(base, options)

    # only the intended parameters train
    named = dict(model.named_parameters())
    trainable = {n for n, p in named.items() if p.requires_grad}
    assert trainable, f"{name}: nothing to train"
    if name != "full":
        assert len(trainable) < len(named), f"{name}: everything trains"
    if not cls.trains_base:
        touched = sorted(n for n in trainable if _original_name(n) in original)
        assert not touched, f"{name}: original parameters train: {touched[:5]}"

    # one optimizer step: trainable parameters move, frozen ones stay
    before = {n: p.detach().clone() for n, p in named.items()}
    optimizer = torch.optim.AdamW([named[n] for n in trainable], lr=1e-2)
    model.train()
    batch = _batch()
    loss = model(**batch).loss
    extra = method.extra_loss(model)
    if extra is not None:
        loss = loss + extra
    loss.backward()
    optimizer.step()
    for hook in method.step_hooks(model):
        hook(1)
    optimizer.zero_grad()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed & trainable, f"{name}: no trainable parameter changed"
    frozen_changed = sorted(changed - trainable)
    assert not frozen_changed, f"{name}: frozen parameters changed: {frozen_changed[:5]}"

    # save, load into a fresh base: identical logits
    reference = _logits(model, batch)
    method.save(model, tmp_path / "saved")
    loaded = method.load(_load_base(tiny_llama_dir, method, options), tmp_path / "saved")
    torch.testing.assert_close(_logits(loaded, batch), reference, rtol=0, atol=1e-6)
    if isinstance(method, PeftMethod):  # PEFT's own loader reads what we saved, anywhere
        plain_base = _load_base(tiny_llama_dir, method, options)
        fit_cpu_packing(plain_base)  # as tunesmith's loading does: hidden 32 on AVX512-BF16
        plain = PeftModel.from_pretrained(plain_base, str(tmp_path / "saved"))
        torch.testing.assert_close(_logits(plain, batch), reference, rtol=0, atol=1e-6)

    # merge where the mathematics allows, a clear refusal where not
    if cls.mergeable:
        merged = method.merge(loaded)
        assert not any(type(m).__module__.startswith("peft") for m in merged.modules()), (
            f"{name}: merged model still holds adapter layers")
        torch.testing.assert_close(_logits(merged, batch), reference, rtol=0, atol=1e-5)
    else:
        with pytest.raises(MergeNotSupportedError):
            method.merge(loaded)
