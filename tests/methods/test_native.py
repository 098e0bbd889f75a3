"""Method-specific properties of the native methods (the shared matrix checks the common ones:
trainable sets, save/load, merge).

Tiny models built here: a 2-layer LLaMA with grouped-query attention (4 heads, 2 key/value
heads) and a 2-layer BERT classifier; a GPT-2 for the unsupported-architecture error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from torch import nn
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
)

import tunesmith.methods  # noqa: F401  (registers every method)
from tunesmith import __version__
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import METHODS, MergeNotSupportedError, TuningMethod
from tunesmith.methods.native import _common
from tunesmith.methods.native._common import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ArchitectureError,
    deltas,
)
from tunesmith.methods.native.diffpruning import SparseDiff, sparsity_of
from tunesmith.methods.native.intrinsic_said import Projection, hadamard
from tunesmith.methods.native.lora_adapter import LoRA, merge_lora
from tunesmith.methods.native.movement_pruning import cubic_share, pruned_share

NATIVE = [
    "full",
    "freeze",
    "bitfit",
    "head_mask",
    "houlsby",
    "compacter",
    "lora_adapter",
    "diffpruning",
    "movement_pruning",
    "intrinsic_said",
    "tucker",
    "block_sparse",
]
LLAMA = LlamaConfig(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    tie_word_embeddings=True,
)
BERT = BertConfig(
    vocab_size=100,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=64,
    num_labels=2,
)


def llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(LLAMA).eval()


def bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BERT).eval()


@pytest.fixture(scope="module")
def tokens() -> torch.Tensor:
    return torch.randint(0, 128, (4, 16), generator=torch.Generator().manual_seed(1))


def method(name: str, total_steps: int = 10) -> TuningMethod:
    m = METHODS.get(name)()
    m.total_steps = total_steps
    return m


def train(
    m: TuningMethod, model: nn.Module, batch: dict[str, Any], steps: int, lr: float, first: int = 1
) -> None:
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    for step in range(first, first + steps):
        loss = model(**batch).loss
        extra = m.extra_loss(model)
        loss = loss + extra if extra is not None else loss
        loss.backward()
        optimizer.step()
        for hook in m.step_hooks(model):
            hook(step)
        optimizer.zero_grad()
    model.eval()


def eval_loss(model: nn.Module, batch: dict[str, Any]) -> float:
    with torch.no_grad():
        return float(model(**batch).loss)


@pytest.mark.parametrize("name", NATIVE)
def test_training_lowers_the_loss(name: str, tokens: torch.Tensor) -> None:
    """A few steps on one batch lower the (eval-mode) loss: the update really reaches the
    model's outputs, through masks, projections and adapters."""
    m = method(name, total_steps=4)
    model = m.prepare(llama(), None)
    batch = {"input_ids": tokens, "labels": tokens}
    before = eval_loss(model, batch)
    train(m, model, batch, steps=4, lr=1e-2)
    assert eval_loss(model, batch) < before - 1e-3


@pytest.mark.parametrize("name", NATIVE)
def test_bert_encoder_round_trip(name: str, tmp_path: Path) -> None:
    """Every native method also works on a BERT encoder; the new classifier head trains."""
    batch = {"input_ids": torch.randint(0, 100, (4, 12)), "labels": torch.tensor([0, 1, 0, 1])}
    m = method(name)
    model = m.prepare(bert(), None)
    assert all(p.requires_grad for p in model.classifier.parameters())
    train(m, model, batch, steps=1, lr=1e-2)
    with torch.no_grad():
        reference = model(**batch).logits
    m.save(model, tmp_path)
    loaded = method(name).load(bert(), tmp_path)
    with torch.no_grad():
        assert torch.allclose(loaded(**batch).logits, reference, atol=1e-6)


def test_saved_config_is_stamped(tokens: torch.Tensor, tmp_path: Path) -> None:
    m = method("tucker")
    model = m.prepare(llama(), {"rank": 2})
    m.save(model, tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["tunesmith_version"] == __version__
    assert config["method"] == "tucker" and config["options"]["rank"] == 2
    assert config["trainable_params"] == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    with safe_open(str(tmp_path / WEIGHTS_FILE), "pt") as handle:
        assert handle.metadata()["tunesmith_version"] == __version__
    with pytest.raises(TunesmithError, match="saved by method 'tucker'"):
        method("block_sparse").load(llama(), tmp_path)


def test_bitfit_adds_biases_on_llama_and_says_so(
    tokens: torch.Tensor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base_logits = llama()(tokens).logits
    m = method("bitfit")
    with caplog.at_level(logging.WARNING, logger="tunesmith.methods.native"):
        model = m.prepare(llama(), None)
    assert "added zero-initialised biases" in caplog.text
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert len(trainable) == 2 * 7 and all(n.endswith(".bias") for n in trainable)
    with torch.no_grad():  # zero biases: the base model's outputs, unchanged
        assert torch.equal(model(tokens).logits, base_logits)
    train(m, model, {"input_ids": tokens, "labels": tokens}, steps=2, lr=1e-2)
    m.save(model, tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / CONFIG_FILE).read_text())
    assert len(saved["facts"]["added_biases"]) == 14
    with torch.no_grad():
        reference = model(tokens).logits
    merged = m.merge(model)
    assert merged.config.attention_bias and merged.config.mlp_bias
    merged.save_pretrained(tmp_path / "merged")  # a plain LLaMA that transformers reloads
    reloaded = LlamaForCausalLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(tokens).logits, reference, atol=1e-5)


def test_bitfit_on_bert_trains_the_existing_biases() -> None:
    model = method("bitfit").prepare(bert(), {"add_missing": False})
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    biases = {n for n, _ in bert().named_parameters() if n.endswith(".bias")}
    assert trainable == biases | {"classifier.weight"}


def test_diffpruning_penalty_and_target_sparsity(tokens: torch.Tensor, tmp_path: Path) -> None:
    m = method("diffpruning", total_steps=20)
    options = {"sparsity": 0.9, "l0_weight": 5.0, "init_log_alpha": 1.0, "fix_mask_at": 0.75}
    model = m.prepare(llama(), options)
    model.train()
    start = m.extra_loss(model)
    assert start is not None and start.item() > 0
    assert m.extra_loss(model.eval()) is None  # the penalty is a training term
    batch = {"input_ids": tokens, "labels": tokens}
    train(m, model, batch, steps=14, lr=0.3)
    model.train()
    after = m.extra_loss(model)
    assert after is not None and after.item() < 0.6 * start.item()  # gates close under λ
    # deterministic (eval) update: at least the target share of entries is exactly zero
    assert sparsity_of(model) >= 0.9
    train(m, model, batch, steps=1, lr=0.1, first=15)  # step 15 = 0.75 x 20: the mask is fixed
    diffs = [d for _, _, d in deltas(model) if isinstance(d, SparseDiff)]
    assert all(d.fixed.numel() and not d.log_alpha.requires_grad for d in diffs)
    assert all(int((d.fixed != 0).sum()) <= d.keep <= 0.1 * d.fixed.numel() + 1 for d in diffs)
    with torch.no_grad():
        reference = model(tokens).logits
    m.save(model, tmp_path)
    loaded = method("diffpruning").load(llama(), tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded(tokens).logits, reference)


def test_movement_pruning_prunes_the_configured_share(tokens: torch.Tensor) -> None:
    assert cubic_share(0, 100, 0.7, 0.1, 0.2) == 0.0
    assert cubic_share(80, 100, 0.7, 0.1, 0.2) == 0.7
    assert 0 < cubic_share(20, 100, 0.7, 0.1, 0.2) < cubic_share(40, 100, 0.7, 0.1, 0.2) < 0.7
    m = method("movement_pruning", total_steps=10)
    model = m.prepare(llama(), {"prune": 0.7})
    base = {n: p.detach().clone() for n, p in llama().named_parameters()}
    assert pruned_share(model) == 0.0
    train(m, model, {"input_ids": tokens, "labels": tokens}, steps=10, lr=1e-2)
    assert pruned_share(model) == pytest.approx(0.7, abs=0.01)
    scores = [d.scores for _, _, d in deltas(model)]
    assert all(s.abs().sum() > 0 for s in scores)  # the scores learned from movement
    merged = m.merge(model)
    changed = total = 0
    for name, p in merged.named_parameters():
        if name.endswith("proj.weight"):
            changed += int((p != base[name]).sum())
            total += p.numel()
    assert changed / total == pytest.approx(0.3, abs=0.01)


def test_intrinsic_projection_regenerates_from_the_seed(tmp_path: Path) -> None:
    d = torch.randn(50)
    for kind in ("fastfood", "dense"):
        one, two = Projection(50, 300, kind, seed=7), Projection(50, 300, kind, seed=7)
        assert torch.equal(one(d), two(d))
        assert not torch.equal(one(d), Projection(50, 300, kind, seed=8)(d))
        assert 0.5 < float(one(d).norm() / d.norm()) < 2.0  # about norm-preserving
    x = torch.randn(3, 8)
    sylvester = torch.tensor([[1.0]])
    for _ in range(3):
        sylvester = torch.cat(
            [torch.cat([sylvester, sylvester], 1), torch.cat([sylvester, -sylvester], 1)]
        )
    assert torch.allclose(hadamard(x), x @ sylvester.T, atol=1e-5)
    m = method("intrinsic_said")
    model = m.prepare(llama(), {"dim": 64})
    with torch.no_grad():
        model.tunesmith_intrinsic.d.normal_()
    m.save(model, tmp_path)
    with safe_open(str(tmp_path / WEIGHTS_FILE), "pt") as handle:
        keys = list(handle.keys())
    assert "tunesmith_intrinsic.d" in keys  # d and the λ scales: no projection stored
    assert all(k == "tunesmith_intrinsic.d" or k.endswith(".scale") for k in keys)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 64 + 14  # d plus one λ per targeted weight (SAID)


def test_tucker_stacks_the_ffn_weights() -> None:
    m = method("tucker")
    model = m.prepare(llama(), {"rank": 4})
    facts = model._tunesmith_native["facts"]
    assert facts["tensor_shape"] == [6, 64, 32]  # gate, up, down x 2 layers; down transposed
    factors = model.tunesmith_tucker
    assert factors.core.shape == (4, 4, 4) and factors.layer_factor.shape == (6, 4)
    assert facts["compression"] == pytest.approx(6 * 64 * 32 / (64 + 6 * 4 + 64 * 4 + 32 * 4))
    with pytest.raises(TunesmithError, match="one tensor"):
        method("tucker").prepare(llama(), {"target_modules": ["q", "ffn"]})


def test_block_sparse_updates_only_selected_blocks(tokens: torch.Tensor) -> None:
    m = method("block_sparse")
    model = m.prepare(llama(), {"block_size": 16, "density": 0.25, "rank": 2})
    train(m, model, {"input_ids": tokens, "labels": tokens}, steps=2, lr=1e-2)
    layer = model.model.layers[0].mlp.up_proj  # 64 x 32: a 4 x 2 grid of 16 x 16 blocks
    update = next(d for n, _, d in deltas(model) if n.endswith("layers.0.mlp.up_proj"))
    delta = update.delta(layer.parametrizations.weight.original).detach()
    assert len(update.blocks) == 2 and update.left.shape == (2, 16, 2)
    grid = delta.view(4, 16, 2, 16).abs().sum((1, 3)).flatten()
    assert set(torch.nonzero(grid).flatten().tolist()) == set(update.blocks.tolist())
    norms = layer.parametrizations.weight.original.view(4, 16, 2, 16).pow(2).sum((1, 3)).flatten()
    assert set(update.blocks.tolist()) == set(norms.topk(2).indices.tolist())


def test_head_mask_changes_only_the_chosen_heads(tokens: torch.Tensor) -> None:
    m = method("head_mask")
    model = m.prepare(llama(), {"heads": [3], "layers": [1]})
    train(m, model, {"input_ids": tokens, "labels": tokens}, steps=2, lr=1e-2)
    merged = m.merge(model)
    base = llama()
    attention, reference = merged.model.layers[1].self_attn, base.model.layers[1].self_attn
    head_dim = 8
    q_rows = (attention.q_proj.weight != reference.q_proj.weight).any(1).nonzero().flatten()
    k_rows = (attention.k_proj.weight != reference.k_proj.weight).any(1).nonzero().flatten()
    o_cols = (attention.o_proj.weight != reference.o_proj.weight).any(0).nonzero().flatten()
    assert q_rows.tolist() == list(range(3 * head_dim, 4 * head_dim))
    assert k_rows.tolist() == list(range(1 * head_dim, 2 * head_dim))  # GQA: kv head 3 // 2
    assert o_cols.tolist() == list(range(3 * head_dim, 4 * head_dim))
    first = merged.model.layers[0].self_attn.q_proj.weight
    assert torch.equal(first, base.model.layers[0].self_attn.q_proj.weight)
    # gate mode: one scale per chosen head; a zero gate removes the head's output exactly
    gated = method("head_mask").prepare(llama(), {"heads": [0, 2], "mode": "gate"})
    gates = [p for n, p in gated.named_parameters() if p.requires_grad]
    assert [g.shape for g in gates] == [torch.Size([2])] * 2
    with torch.no_grad():
        for g in gates:
            g.zero_()
    out = gated.model.layers[0].self_attn.o_proj.weight
    assert out[:, 0:8].abs().sum() == 0 and out[:, 16:24].abs().sum() == 0
    assert out[:, 8:16].abs().sum() > 0
    with pytest.raises(TunesmithError, match="heads"):
        method("head_mask").prepare(llama(), {"heads": [4]})


def test_lora_adapter_merges_the_lora_part_only(tokens: torch.Tensor) -> None:
    m = method("lora_adapter")
    model = m.prepare(llama(), {"r": 4})
    train(m, model, {"input_ids": tokens, "labels": tokens}, steps=2, lr=1e-2)
    with torch.no_grad():
        reference = model(tokens).logits
    with pytest.raises(MergeNotSupportedError, match="merge_lora"):
        m.merge(model)
    merge_lora(model)
    assert not any(isinstance(d, LoRA) for _, _, d in deltas(model))
    assert len(list(_common.adapters(model))) == 2  # one FFN adapter per layer stays
    with torch.no_grad():
        assert torch.allclose(model(tokens).logits, reference, atol=1e-5)


def test_compacter_shares_the_slow_weights() -> None:
    compacter = method("compacter").prepare(llama(), {"bottleneck": 8, "phm_dim": 4})
    rules = compacter.tunesmith_phm_rules
    names = [n for n, _ in compacter.named_parameters() if n.startswith("tunesmith_phm_rules")]
    assert names == ["tunesmith_phm_rules.down", "tunesmith_phm_rules.up"]
    assert rules.down.shape == (4, 4, 4)
    houlsby = method("houlsby").prepare(llama(), {"bottleneck": 8, "train_layer_norms": False})
    count = _common.count_parameters
    assert count(compacter)["trainable_params"] < count(houlsby)["trainable_params"]
    with pytest.raises(TunesmithError, match="phm_dim 3 must divide"):
        method("compacter").prepare(llama(), {"phm_dim": 3})


def test_freeze_trains_the_last_layers_and_named_modules() -> None:
    model = method("freeze").prepare(llama(), {"layers": 1, "modules": ["model.norm"]})
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("model.layers.1.", "model.norm.")) for n in trainable)
    assert "model.norm.weight" in trainable
    with pytest.raises(TunesmithError, match="matched no module"):
        method("freeze").prepare(llama(), {"layers": 0, "modules": ["nothing.here"]})
    with pytest.raises(TunesmithError, match="has 2 layers"):
        method("freeze").prepare(llama(), {"layers": 3})


def test_unsupported_architecture_is_a_clear_error() -> None:
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=4, vocab_size=64))
    with pytest.raises(ArchitectureError, match="Conv1D"):
        method("houlsby").prepare(gpt2, None)
    assert issubclass(ArchitectureError, TunesmithError)
    with pytest.raises(TunesmithError, match="matched no linear layer"):
        method("diffpruning").prepare(llama(), {"target_modules": ["c_attn"]})
