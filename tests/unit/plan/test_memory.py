"""The memory estimate: exact against autograd's saved tensors, near torchtune's figures."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tunesmith.plan.catalog import ModelShape, resolve_model
from tunesmith.plan.memory import EstimateError, TrainSetup, estimate_memory
from tunesmith.plan.memory import layer_activation_elements as per_layer


def _saved_bytes(shape: ModelShape, layers: int, seq: int, lora: list[str] | None) -> int:
    """Bytes autograd keeps for one forward pass, parameters excluded."""
    config = LlamaConfig(hidden_size=shape.hidden, num_hidden_layers=layers,
                         num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                         intermediate_size=shape.intermediate, vocab_size=shape.vocab)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model: torch.nn.Module = LlamaForCausalLM(config)
    if lora is not None:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                                 target_modules=lora, task_type="CAUSAL_LM"))
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    ids = torch.randint(0, shape.vocab, (1, seq))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    return sum(seen.values())


SHAPE = ModelShape(name="t", hidden=64, layers=2, heads=4, kv_heads=2, intermediate=160,
                   vocab=300)


@pytest.mark.parametrize(("method", "targets"), [
    ("full", None), ("lora", ["q_proj", "v_proj"]),
    ("lora", ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
])
def test_per_layer_activations_match_autograd_exactly(method: str, targets: list[str] | None
                                                      ) -> None:
    seq = 32
    # one layer's share: the difference between a 3-layer and a 2-layer model
    measured = (_saved_bytes(SHAPE, 3, seq, targets) - _saved_bytes(SHAPE, 2, seq, targets)) / 4
    setup = TrainSetup(method=method, precision="fp32", seq_len=seq, device="cpu",
                       lora_targets=tuple(targets or ()), lora_dropout=0.0)
    assert per_layer(SHAPE, setup, seq) * seq == measured


@pytest.mark.parametrize(("method", "extra", "published"), [
    ("lora", {}, 16.2), ("qlora", {}, 7.4),
    ("full", {"optimizer": "paged_adamw_8bit", "optimizer_in_backward": True}, 18.9),
])
def test_torchtune_reference_points_within_25_percent(method: str, extra: dict[str, object],
                                                      published: float) -> None:
    # torchtune README: Llama-3.1-8B, one RTX 4090, batch 2, packed 2048, activation
    # checkpointing, torch.compile (chunked cross-entropy)
    setup = TrainSetup(method=method, batch_size=2, seq_len=2048, gradient_checkpointing=True,
                       loss="chunked", **extra)  # type: ignore[arg-type]
    peak = estimate_memory(resolve_model("llama-3.1-8b"), setup).peak
    assert abs(peak - published) / published <= 0.25


def test_breakdown_adds_up_and_knobs_move_it_the_right_way() -> None:
    shape = resolve_model("llama-3-8b")
    base = TrainSetup(method="full", batch_size=1, seq_len=1024)
    mem = estimate_memory(shape, base)
    assert sum(mem.breakdown().values()) == pytest.approx(mem.peak, rel=1e-3)
    assert mem.total_params == pytest.approx(8.03e9, rel=0.01)
    checkpointed = estimate_memory(shape, TrainSetup(method="full", batch_size=1, seq_len=1024,
                                                     gradient_checkpointing=True))
    sharded = estimate_memory(shape, TrainSetup(method="full", batch_size=1, seq_len=1024,
                                                gpus=4, zero_stage=3))
    lora = estimate_memory(shape, TrainSetup(method="lora", batch_size=1, seq_len=1024))
    qlora = estimate_memory(shape, TrainSetup(method="qlora", batch_size=1, seq_len=1024))
    assert checkpointed.activations_total < mem.activations_total
    assert sharded.peak < mem.peak / 2
    assert qlora.peak < lora.peak < mem.peak


def test_bad_setups_are_clear_errors() -> None:
    with pytest.raises(EstimateError, match="optimizer 'adam'"):
        TrainSetup(optimizer="adam")
    with pytest.raises(EstimateError, match="stage 3"):
        TrainSetup(offload_params=True, zero_stage=2)
    with pytest.raises(Exception, match="cannot size method"):
        TrainSetup(method="no-such-method")
    with pytest.raises(Exception, match="did you mean 'llama-3-8b'"):
        resolve_model("llama-3-8")
