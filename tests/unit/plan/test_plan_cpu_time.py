"""The kernel-level CPU step-time model: its list of trainable tensors is the real model's, its
block accounting follows the method (no timed assertions: the values are this machine's), and
its cache is reused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.cpu_time import BlockTimer, predict_step, trainable_shapes
from tunesmith.plan.memory import TrainSetup
from tunesmith.plan.steps import prepare_model

SHAPE = ModelShape(name="t", hidden=32, layers=2, heads=2, kv_heads=1, intermediate=64,
                   vocab=100)


def _model() -> torch.nn.Module:
    return LlamaForCausalLM(LlamaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        intermediate_size=64, vocab_size=100, tie_word_embeddings=False))


@pytest.mark.parametrize("method,options", [
    ("lora", {"target_modules": "all-linear"}), ("lora", {}), ("full", {}), ("ia3", {}),
    ("prompt_tuning", {}),
])
def test_trainable_tensors_match_the_prepared_model(method: str, options: dict[str, object]
                                                    ) -> None:
    from tunesmith.methods import METHODS

    opts = METHODS.get(method).Options.model_validate(options)
    model, _ = prepare_model(_model(), method, opts)
    real = sorted(tuple(p.shape) for p in model.parameters() if p.requires_grad)
    targets = getattr(opts, "target_modules", None) or ("q_proj", "v_proj")
    setup = TrainSetup(method=method, device="cpu", precision="fp32",
                       lora_targets=(targets,) if isinstance(targets, str) else tuple(targets),
                       lora_rank=int(getattr(opts, "r", 8)),
                       virtual_tokens=int(getattr(opts, "num_virtual_tokens", 20)))
    assert sorted(trainable_shapes(SHAPE, setup)) == real


def test_blocks_follow_the_method_and_the_cache_is_reused(tmp_path: Path) -> None:
    cache = tmp_path / "cpu_blocks.json"
    timer = BlockTimer(min_seconds=0.001, rounds=1, cache=cache)
    base = TrainSetup(method="lora", device="cpu", precision="fp32", batch_size=1, seq_len=16)
    lora = predict_step(SHAPE, base, timer)
    assert lora.seconds == pytest.approx(sum(lora.parts.values())) and lora.seconds > 0
    assert {"linear", "adapter", "attention", "loss", "optimizer"} <= set(lora.parts)
    assert cache.exists() and lora.blocks_timed > 0
    # checkpointing recomputes every layer's forward; nothing else changes
    ckpt = predict_step(SHAPE, TrainSetup(**{**base.__dict__, "gradient_checkpointing": True}),
                        timer)
    assert ckpt.parts["checkpointing (recompute)"] > 0
    assert ckpt.parts["linear"] == pytest.approx(lora.parts["linear"])
    # a second timer on the same host reads the cache: nothing is run again
    again = BlockTimer(min_seconds=0.001, rounds=1, cache=cache)
    assert predict_step(SHAPE, base, again).seconds == pytest.approx(lora.seconds)
    assert again.timed == 0
    # full training has no adapter branch; freeze keeps its bottom layer forward-only
    full = predict_step(SHAPE, TrainSetup(**{**base.__dict__, "method": "full"}), timer)
    assert "adapter" not in full.parts
    frozen = BlockTimer(min_seconds=0.001, rounds=1)
    predict_step(SHAPE, TrainSetup(**{**base.__dict__, "method": "freeze",
                                      "trainable_layers": 1}), frozen)
    keys = [k for k in frozen._memo if k.startswith("linear|") and k.endswith("|fwd|False")]
    assert keys, "the frozen layer ran no forward-only block"
