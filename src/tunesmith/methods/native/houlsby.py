"""``houlsby``: bottleneck adapters after the attention and after the FFN of every layer
(Houlsby et al., 2019, "Parameter-Efficient Transfer Learning for NLP").

Each adapter is ``h + up(f(down(h)))``: a down-projection to ``bottleneck`` units, a
non-linearity, an up-projection initialised to zero (near-identity start, as the paper asks),
and the residual. As in the paper the layer norms train too (``train_layer_norms``). The seed
lists adapters among additive methods ("Adapters: Add FFN layers between transformers"; its
table: "1-4%" of the parameters, "90-96% FT").

Not mergeable: the non-linearity between the projections keeps the adapter from being folded
into any base weight.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

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
from tunesmith.methods.native._common import NativeMethod, find_blocks, register

Placement = Literal["attention", "ffn"]
NonLinearity = Literal["relu", "gelu", "swish", "tanh"]
_BOTH: tuple[Placement, ...] = ("attention", "ffn")


class HoulsbyOptions(Section):
    """Adapter size, placement and what else trains."""

    bottleneck: int = Field(64, ge=1, description="Units of the adapter's bottleneck (m).")
    placement: list[Placement] = Field(
        default_factory=lambda: list(_BOTH),
        min_length=1,
        description="After which sub-layers adapters go (the paper: both).",
    )
    non_linearity: NonLinearity = Field("swish", description="f between the projections.")
    train_layer_norms: bool = Field(
        True, description="Also train the layer norms' parameters, as the paper does."
    )


def train_norms(model: nn.Module) -> int:
    """Unfreeze every normalisation layer's parameters (LayerNorm, RMSNorm ...)."""
    count = 0
    for module in model.modules():
        if "norm" in type(module).__name__.lower():
            for p in module.parameters(recurse=False):
                p.requires_grad_(True)
                count += p.numel()
    return count


@register
class Houlsby(NativeMethod):
    name = "houlsby"
    family: ClassVar[Family] = "additive"
    memory = MethodProfile("bottleneck")
    paper = "Houlsby et al., 2019, Parameter-Efficient Transfer Learning for NLP"
    Options = HoulsbyOptions
    mergeable = False
    trains_base = True  # the layer norms (train_layer_norms)
    merge_refusal = (
        "a bottleneck adapter applies a non-linearity between its projections, so it is not a "
        "change of any base weight; keep the adapters (load with the method) or choose lora"
    )

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        for block in find_blocks(model):
            d = hidden_size(block)
            for where in options.placement:
                adapter = Bottleneck(
                    down_linear(d, options.bottleneck),
                    zero_linear(options.bottleneck, d),
                    options.non_linearity,
                )
                attach(block, where, adapter)
        norms = train_norms(model) if options.train_layer_norms else 0
        return {"layer_norm_params": norms}
