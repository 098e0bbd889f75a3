"""``lora_adapter``: a hybrid of LoRA on the attention and a bottleneck adapter on the FFN, the
combination He et al. (2022, "Towards a Unified View of Parameter-Efficient Transfer Learning")
found best: low-rank updates where the parameters are few (attention), a scaled parallel
adapter where capacity matters (the FFN). The seed's "LoRA+Adapter: Combines injection +
decomposition".

- LoRA (Hu et al., 2021): ``W + (alpha / r) · B A`` on ``lora_targets``, ``A`` Kaiming-uniform
  and ``B`` zero, written natively as a weight update so it merges exactly. (LoRA dropout on
  the input is not offered: the update is a change of the weight, not a side path.)
- The adapter: ``h + s · up(f(down(x)))`` after the FFN, reading the FFN's input (``parallel``,
  He et al.'s choice, ``s = 4``) or its output (``sequential``, as Houlsby).

Merging the whole is not possible (the adapter is non-linear): ``merge`` raises. ``merge_lora``
folds the LoRA part into the weights and keeps the adapters.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._adapters import (
    Bottleneck,
    attach,
    down_linear,
    hidden_size,
    zero_linear,
)
from tunesmith.methods.native._common import (
    TARGETS_DESCRIPTION,
    NativeMethod,
    WeightDelta,
    add_delta,
    find_blocks,
    merge_deltas,
    register,
    select_linears,
)
from tunesmith.methods.native.houlsby import NonLinearity


class LoraAdapterOptions(Section):
    """The LoRA half and the adapter half."""

    # seed: "Optimal rank: r=8", LoraConfig(r=8, lora_alpha=32, target_modules=[q_proj, v_proj])
    r: int = Field(8, ge=1, description="LoRA rank.")
    alpha: float = Field(32, gt=0, description="LoRA scaling numerator (the update is alpha/r).")
    lora_targets: list[str] = Field(
        default_factory=lambda: ["q", "v"], description="Where LoRA goes. " + TARGETS_DESCRIPTION
    )
    bottleneck: int = Field(64, ge=1, description="Units of the FFN adapter's bottleneck.")
    adapter: Literal["parallel", "sequential"] = Field(
        "parallel", description="parallel: reads the FFN input (He et al.); sequential: output."
    )
    adapter_scale: float = Field(4.0, gt=0, description="s: the adapter output's scale.")
    non_linearity: NonLinearity = Field("relu", description="f between the projections.")


class LoRA(WeightDelta):
    def __init__(self, out: int, inp: int, r: int, alpha: float):
        super().__init__()
        self.scale = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, inp))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as PEFT initialises A
        self.lora_B = nn.Parameter(torch.zeros(out, r))

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        return self.scale * self.lora_B @ self.lora_A


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold the LoRA updates into their weights; the adapters stay (and keep training)."""
    merge_deltas(model, only=LoRA)
    return model


@register
class LoraAdapter(NativeMethod):
    name = "lora_adapter"
    family: ClassVar[Family] = "hybrid"
    memory = MethodProfile("adapter", note="LoRA + adapter hybrid")
    paper = (
        "He et al., 2022, Towards a Unified View of Parameter-Efficient Transfer Learning; "
        "Hu et al., 2021, LoRA"
    )
    Options = LoraAdapterOptions
    mergeable = False
    merge_refusal = (
        "the FFN adapter is non-linear; only the LoRA part can be folded into the weights: "
        "use tunesmith.methods.native.lora_adapter.merge_lora(model), which keeps the adapters"
    )

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        for _, layer in select_linears(model, options.lora_targets, method=self.name):
            add_delta(layer, LoRA(layer.out_features, layer.in_features, options.r, options.alpha))
        for block in find_blocks(model):
            d = hidden_size(block)
            adapter = Bottleneck(
                down_linear(d, options.bottleneck),
                zero_linear(options.bottleneck, d),
                options.non_linearity,
                parallel=options.adapter == "parallel",
                scale=options.adapter_scale,
            )
            attach(block, "ffn", adapter)
        return {}
