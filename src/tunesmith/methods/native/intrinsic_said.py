"""``intrinsic_said``: fine-tuning in a random low-dimensional subspace (Aghajanyan, Zettlemoyer
& Gupta, 2020, "Intrinsic Dimensionality Explains the Effectiveness of Language Model
Fine-Tuning"; the subspace method of Li et al., 2018, "Measuring the Intrinsic Dimension of
Objective Landscapes").

One small trainable vector ``d`` (``dim`` entries, shared by every targeted weight) is projected
into each weight's space by a fixed random projection: ``ΔW_i = λ_i · reshape(P_i d)`` (the
seed's ``D = random_matrix(n, r); ΔW = D · C``). With ``said: true`` each weight has its own
trainable scale ``λ_i`` (Structure-Aware Intrinsic Dimension, SAID); without it ``λ_i = 1``
(DID). ``P_i`` is the Fastfood transform ``H G Π H B`` (Le, Sarlós & Smola, 2013), O(D log D)
time and O(D) memory, or a dense Gaussian matrix for small models; either way it is regenerated
from ``seed`` and the weight's position, never stored: a saved update is ``d`` and ``λ``.
Mergeable: ``W_i + ΔW_i``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

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

_DENSE_LIMIT = 50_000_000  # entries of a dense projection before it is refused (200 MB fp32)


class IntrinsicOptions(Section):
    """The subspace's size, projection and seed."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["all"], description=TARGETS_DESCRIPTION
    )
    dim: int = Field(1000, ge=1, description="Intrinsic dimension: entries of the vector d.")
    said: bool = Field(True, description="A trainable scale λ per weight (SAID); false: plain DID.")
    projection: Literal["fastfood", "dense"] = Field(
        "fastfood",
        description="fastfood: O(D log D) structured random projection; dense: a Gaussian "
        "matrix (small models only).",
    )
    seed: int = Field(0, description="Seed the projections are regenerated from.")


def hadamard(x: torch.Tensor) -> torch.Tensor:
    """The unnormalised fast Walsh-Hadamard transform of the last dimension (a power of 2)."""
    shape, n = x.shape, x.shape[-1]
    h = 1
    while h < n:
        pairs = x.reshape(*shape[:-1], n // (2 * h), 2, h)
        first, second = pairs[..., 0, :], pairs[..., 1, :]
        x = torch.stack((first + second, first - second), -2).reshape(shape)
        h *= 2
    return x


class Projection(NativeModule):
    """A fixed random map R^dim -> R^size, regenerated from (seed, index); nothing persisted."""

    matrix: torch.Tensor
    signs: torch.Tensor
    permutation: torch.Tensor
    gaussian: torch.Tensor

    def __init__(self, dim: int, size: int, kind: str, seed: int):
        super().__init__()
        self.dim, self.size, self.kind = dim, size, kind
        generator = torch.Generator().manual_seed(seed)
        if kind == "dense":
            if dim * size > _DENSE_LIMIT:
                raise TunesmithError(
                    f"method intrinsic_said: a dense projection of {size} x {dim} entries is too "
                    "large; use projection: fastfood"
                )
            # N(0, 1/size): E|P d|^2 = |d|^2
            matrix = torch.randn(size, dim, generator=generator) / math.sqrt(size)
            self.register_buffer("matrix", matrix, persistent=False)
            return
        n = self.length = 1 << (max(size, dim) - 1).bit_length()  # the next power of 2
        signs = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
        permutation = torch.randperm(n, generator=generator)
        gaussian = torch.randn(n, generator=generator)
        self.register_buffer("signs", signs, persistent=False)
        self.register_buffer("permutation", permutation, persistent=False)
        self.register_buffer("gaussian", gaussian, persistent=False)
        # Li et al.'s normalisation: |P d| ≈ |d|
        self.divisor = math.sqrt(n * float((gaussian**2).sum())) * math.sqrt(size / n)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        if self.kind == "dense":
            return self.matrix @ d
        x = torch.nn.functional.pad(d, (0, self.length - self.dim)) * self.signs
        x = hadamard(x)[self.permutation] * self.gaussian
        return hadamard(x)[: self.size] / self.divisor


class IntrinsicVector(NativeModule):
    def __init__(self, dim: int, said: bool):
        super().__init__()
        self.said = said
        self.d = nn.Parameter(torch.zeros(dim))


class SubspaceUpdate(WeightDelta):
    """``λ · reshape(P d)`` for one weight; ``d`` is shared, held by the method's root module."""

    def __init__(self, shape: torch.Size, projection: Projection, vector: IntrinsicVector):
        super().__init__()
        self.shape = shape
        self.projection = projection
        self.scale = nn.Parameter(torch.ones(()), requires_grad=vector.said)
        object.__setattr__(self, "vector", vector)  # shared, registered once on the model

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        vector: IntrinsicVector = self.__dict__["vector"]
        return self.scale * self.projection(vector.d).view(self.shape)


_ROOT = "tunesmith_intrinsic"


@register
class IntrinsicSAID(NativeMethod):
    name = "intrinsic_said"
    family: ClassVar[Family] = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=0.1)
    paper = (
        "Aghajanyan, Zettlemoyer & Gupta, 2020, Intrinsic Dimensionality Explains the "
        "Effectiveness of Language Model Fine-Tuning"
    )
    Options = IntrinsicOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        layers = select_linears(model, options.target_modules, method=self.name)
        vector = IntrinsicVector(options.dim, options.said).to(layers[0][1].weight.device)
        model.add_module(_ROOT, vector)
        for index, (_, layer) in enumerate(layers):
            shape = layer.weight.shape
            projection = Projection(
                options.dim, shape.numel(), options.projection, options.seed * 100_003 + index
            )
            add_delta(layer, SubspaceUpdate(shape, projection, vector))
        return {"weights": len(layers)}

    def merge(self, model: nn.Module) -> nn.Module:
        merged = super().merge(model)
        delattr(merged, _ROOT)
        return merged
