"""``bitfit``: train the bias terms only (Ben Zaken, Goldberg & Ravfogel, 2021, "BitFit: Simple
Parameter-efficient Fine-tuning for Transformer-based Masked Language-models").

The seed lists it among selective methods ("Bias-Only Tuning (BitFit: 0.1% params)"). LLaMA-style
models have no biases in their linear layers, so there is nothing to train: where a chosen
linear layer has no bias, a zero-initialised one is added (the model's outputs are unchanged
until training moves it). That departure from the paper is logged and recorded in the saved
config (``facts.added_biases``). The biases are part of the linear layers, so the trained model
is already a plain model: merging sets the config flags (``attention_bias``, ``mlp_bias``)
that let ``save_pretrained``/``from_pretrained`` keep them where the architecture has such flags.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._common import (
    TARGETS_DESCRIPTION,
    NativeMethod,
    find_blocks,
    log,
    register,
    select_linears,
)


class BitFitOptions(Section):
    """Which biases train."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["all"],
        description="Where biases train (and are added when missing). " + TARGETS_DESCRIPTION,
    )
    add_missing: bool = Field(
        True,
        description="Add zero-initialised biases to chosen linear layers that have none "
        "(LLaMA); false trains only the biases the model already has.",
    )
    other_biases: bool = Field(
        True,
        description="Also train every other existing bias (layer norms, embeddings, heads), as "
        "the paper does.",
    )


def _add_bias(layer: nn.Linear) -> None:
    # the weight's dtype: F.linear needs one dtype (and bf16 biases are what BERT has too)
    layer.bias = nn.Parameter(
        torch.zeros(layer.out_features, dtype=layer.weight.dtype, device=layer.weight.device)
    )


@register
class BitFit(NativeMethod):
    name = "bitfit"
    family: ClassVar[Family] = "selective"
    memory = MethodProfile("bias")
    paper = "Ben Zaken, Goldberg & Ravfogel, 2021, BitFit: Simple Parameter-efficient Fine-tuning"
    Options = BitFitOptions
    mergeable = True
    trains_base = True  # existing biases (BERT) are base parameters

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        added: list[str] = []
        for name, layer in select_linears(model, options.target_modules, method=self.name):
            if layer.bias is None:
                if not options.add_missing:
                    continue
                _add_bias(layer)
                added.append(name)
            layer.bias.requires_grad_(True)  # type: ignore[union-attr]
        if options.other_biases:
            for name, p in model.named_parameters():
                if name.endswith(".bias") or name == "bias":
                    p.requires_grad_(True)
        if not any(p.requires_grad for p in model.parameters()):
            raise TunesmithError(
                f"method bitfit: {type(model).__name__} has no bias terms to train; "
                "set add_missing: true to add zero-initialised ones"
            )
        if added:
            log.warning(
                "bitfit: %s has no biases in %d linear layers; added zero-initialised biases "
                "to them (recorded as added_biases in the saved config)",
                type(model).__name__,
                len(added),
            )
        return {"added_biases": added}

    def merge(self, model: nn.Module) -> nn.Module:
        """The biases already live in the linear layers; record them in the model's config."""
        mark = getattr(model, "_tunesmith_native", None)
        added = set(mark["facts"]["added_biases"]) if mark else set()
        config = getattr(model, "config", None)
        if added and config is not None:
            for flag, roles in (
                ("attention_bias", ("q", "k", "v", "o")),
                ("mlp_bias", ("ffn_in", "ffn_out")),
            ):
                wanted = {
                    f"{b.name}.{n}"
                    for b in find_blocks(model)
                    for role in roles
                    for n in b.roles.get(role, [])
                }
                if hasattr(config, flag) and wanted and wanted <= added:
                    setattr(config, flag, True)
        for p in model.parameters():
            p.requires_grad_(False)
        return super().merge(model)
