"""``compacter``: adapters whose projections are sums of Kronecker products with low-rank
factors (Karimi Mahabadi, Henderson & Ruder, 2021, "Compacter: Efficient Low-Rank Hypercomplex
Adapter Layers").

Each adapter is a bottleneck adapter (as ``houlsby``) whose down- and up-projections are
parameterised hypercomplex multiplication (PHM) layers:

    W = Σ_{i=1..n} A_i ⊗ B_i,   B_i = s_i · t_iᵀ  (rank ``rank``)

The "slow" weights ``A_i ∈ R^{n x n}`` are shared by every adapter of the model (one set for
down-projections, one for up-projections); the "fast" low-rank ``B_i`` belong to each adapter.
With ``n = 4`` and rank 1 an adapter costs about ``(d + m)`` parameters per projection instead
of ``d · m``. ``placement: [ffn]`` gives Compacter++ (adapters after the FFN only). The up
factors ``t`` start at zero, so training starts from the base model. The seed lists it with
Houlsby among adapters ("Compacter (low-rank)").

Not mergeable: like every bottleneck adapter it applies a non-linearity between projections.
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
from tunesmith.methods.native._adapters import Bottleneck, attach, hidden_size
from tunesmith.methods.native._common import NativeMethod, NativeModule, find_blocks, register
from tunesmith.methods.native.houlsby import _BOTH, NonLinearity, Placement


class CompacterOptions(Section):
    """PHM dimension, factor rank, adapter size and placement."""

    bottleneck: int = Field(32, ge=1, description="Units of the bottleneck; a multiple of phm_dim.")
    phm_dim: int = Field(
        4, ge=1, description="n: Kronecker products per projection (the paper's best: 4)."
    )
    rank: int = Field(1, ge=1, description="Rank of the fast weights B_i (the paper: 1).")
    placement: list[Placement] = Field(
        default_factory=lambda: list(_BOTH),
        min_length=1,
        description="After which sub-layers adapters go; [ffn] is Compacter++.",
    )
    non_linearity: NonLinearity = Field("gelu", description="f between the projections.")


class SharedRules(NativeModule):
    """The slow weights A (n x n x n), one set for down- and one for up-projections."""

    def __init__(self, n: int):
        super().__init__()
        self.down = nn.Parameter(torch.randn(n, n, n) / math.sqrt(n))
        self.up = nn.Parameter(torch.randn(n, n, n) / math.sqrt(n))


class PHMLinear(NativeModule):
    """``x -> x · Σ_i A_i ⊗ (s_i t_iᵀ) + b``."""

    def __init__(self, rules: SharedRules, which: str, inp: int, out: int, rank: int):
        super().__init__()
        n = rules.down.shape[0]
        self.which = which
        object.__setattr__(self, "rules", rules)  # shared, registered once on the model
        self.left = nn.Parameter(torch.randn(n, inp // n, rank) * math.sqrt(2 / (inp + out)))
        right = torch.zeros(n, rank, out // n)  # up: zero, so the adapter starts as identity
        if which == "down":
            right = torch.randn(n, rank, out // n) * math.sqrt(2 / (inp + out))
        self.right = nn.Parameter(right)
        self.bias = nn.Parameter(torch.zeros(out))

    def weight(self) -> torch.Tensor:
        rule = getattr(self.__dict__["rules"], self.which)  # (n, n, n)
        fast = self.left @ self.right  # (n, inp/n, out/n)
        n, p, q = fast.shape
        return torch.einsum("iab,icd->acbd", rule, fast).reshape(n * p, n * q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight() + self.bias


_ROOT = "tunesmith_phm_rules"


@register
class Compacter(NativeMethod):
    name = "compacter"
    family: ClassVar[Family] = "additive"
    memory = MethodProfile("bottleneck", adapter_factor=0.1)
    paper = (
        "Karimi Mahabadi, Henderson & Ruder, 2021, Compacter: Efficient Low-Rank Hypercomplex "
        "Adapter Layers"
    )
    Options = CompacterOptions
    mergeable = False
    merge_refusal = (
        "a Compacter adapter applies a non-linearity between its PHM projections, so it is not "
        "a change of any base weight; keep the adapters (load with the method)"
    )

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        blocks = find_blocks(model)
        n, m = options.phm_dim, options.bottleneck
        d = hidden_size(blocks[0])
        if d % n or m % n:
            raise TunesmithError(
                f"method compacter: phm_dim {n} must divide the hidden size ({d}) and the "
                f"bottleneck ({m})"
            )
        rules = SharedRules(n)
        model.add_module(_ROOT, rules.to(next(model.parameters()).device))
        for block in blocks:
            for where in options.placement:
                down = PHMLinear(rules, "down", d, m, options.rank)
                up = PHMLinear(rules, "up", m, d, options.rank)
                attach(block, where, Bottleneck(down, up, options.non_linearity))
        return {}
