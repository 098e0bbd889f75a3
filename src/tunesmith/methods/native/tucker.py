"""``tucker``: the FFN weights' update as one Tucker-factorised tensor (Jie & Deng, 2023,
"FacT: Factor-Tuning for Lightweight Adaptation on Vision Transformer", the FacT-TK variant).

The FFN weights of every layer (LLaMA: gate, up and down projections; BERT: intermediate and
output) are matrices of one shape up to transposition, so their updates stack into a 3-way
tensor ``ΔT ∈ R^{K x m x n}``, factorised once for the whole model:

    ΔW_k = s · U2 · (Σ_a U1[k, a] · G[a]) · U3ᵀ      (ΔT = s · G ×1 U1 ×2 U2 ×3 U3)

with a core ``G ∈ R^{r x r x r}`` and factors ``U1 ∈ R^{K x r}``, ``U2 ∈ R^{m x r}``,
``U3 ∈ R^{n x r}``. Layers share the core and the in/out factors and differ only by a row of
``U1``: the cross-layer redundancy FacT exploits, and the seed's "Tucker decomposition:
W = G × U × V × T" ("compression 15x for FFN layers": the saved config records the measured
ratio of FFN parameters to factor parameters). ``U3`` starts at zero, so training starts from
the base model. Mergeable: each ``W_k + ΔW_k``.
"""

from __future__ import annotations

import math
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
    NativeModule,
    WeightDelta,
    add_delta,
    register,
    select_linears,
)


class TuckerOptions(Section):
    """The factorisation's rank, scale and targets."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["ffn"],
        description="Weights whose updates are stacked (one shape up to transposition). "
        + TARGETS_DESCRIPTION,
    )
    rank: int = Field(8, ge=1, description="Tucker rank r of every mode (core r x r x r).")
    scale: float = Field(1.0, gt=0, description="s: the update's scale (FacT's scaling).")


class TuckerFactors(NativeModule):
    """The shared core and factors, registered once on the model."""

    def __init__(self, count: int, rows: int, cols: int, rank: int, scale: float):
        super().__init__()
        self.scale = scale
        self.core = nn.Parameter(torch.randn(rank, rank, rank) / math.sqrt(rank))
        self.layer_factor = nn.Parameter(torch.randn(count, rank) / math.sqrt(rank))
        self.row_factor = nn.Parameter(torch.randn(rows, rank) / math.sqrt(rank))
        self.col_factor = nn.Parameter(torch.zeros(cols, rank))

    def update(self, k: int) -> torch.Tensor:
        mixed = torch.einsum("a,abc->bc", self.layer_factor[k], self.core)
        return self.scale * self.row_factor @ mixed @ self.col_factor.T


class TuckerSlice(WeightDelta):
    """Slice ``k`` of the factorised update, transposed back where the weight is (n x m)."""

    def __init__(self, factors: TuckerFactors, k: int, transposed: bool):
        super().__init__()
        self.k, self.transposed = k, transposed
        object.__setattr__(self, "factors", factors)  # shared, registered once on the model

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        update = self.__dict__["factors"].update(self.k)
        return update.T if self.transposed else update


_ROOT = "tunesmith_tucker"


@register
class Tucker(NativeMethod):
    name = "tucker"
    family: ClassVar[Family] = "reparameterised"
    memory = MethodProfile("adapter")
    paper = "Jie & Deng, 2023, FacT: Factor-Tuning for Lightweight Adaptation on Vision Transformer"
    Options = TuckerOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        layers = select_linears(model, options.target_modules, method=self.name)
        rows, cols = layers[0][1].weight.shape
        for name, layer in layers:
            if tuple(layer.weight.shape) not in {(rows, cols), (cols, rows)}:
                raise TunesmithError(
                    f"method tucker: {name} has shape {tuple(layer.weight.shape)}; every target "
                    f"must be {rows} x {cols} or its transpose to stack into one tensor"
                )
        factors = TuckerFactors(len(layers), rows, cols, options.rank, options.scale)
        model.add_module(_ROOT, factors.to(layers[0][1].weight.device))
        for k, (_, layer) in enumerate(layers):
            add_delta(layer, TuckerSlice(factors, k, tuple(layer.weight.shape) != (rows, cols)))
        targeted = len(layers) * rows * cols
        own = sum(p.numel() for p in factors.parameters())
        return {
            "tensor_shape": [len(layers), rows, cols],
            "targeted_params": targeted,
            "factor_params": own,
            "compression": targeted / own,
        }

    def merge(self, model: nn.Module) -> nn.Module:
        merged = super().merge(model)
        delattr(merged, _ROOT)
        return merged
