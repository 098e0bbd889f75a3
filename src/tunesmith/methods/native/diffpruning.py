"""``diffpruning``: a sparse difference vector per weight (Guo, Rush & Kim, 2021, "Parameter-
Efficient Transfer Learning with Diff Pruning").

Each targeted weight becomes ``W + δ ⊙ z`` where ``δ`` is a dense trainable difference and
``z ∈ [0, 1]`` a hard-concrete gate per entry (Louizos, Welling & Kingma, 2018, "Learning
Sparse Neural Networks through L0 Regularization") with trainable log-odds ``log α``. Training
samples the gates; the loss gains the expected L0 norm of the gates (``extra_loss``), the seed's
``L = L_task + λ‖θ - θ₀‖₀``, here as ``λ`` times the expected share of non-zero entries so that
``λ`` does not depend on the model size.

As in the paper, the sparsity target is then met exactly by projection onto the L0 ball: the
deterministic gates (eval mode, save, merge) keep at most the ``1 - sparsity`` share of entries
of largest ``|δ ⊙ z|`` per weight. With ``fix_mask_at`` the projection is fixed part-way through
training and ``δ`` goes on training under the fixed mask (the paper's second stage). The merged
weight is ``W + δ ⊙ z``: mergeable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._common import (
    TARGETS_DESCRIPTION,
    NativeMethod,
    WeightDelta,
    add_delta,
    deltas,
    register,
    select_linears,
)

# Louizos et al., 2018: the stretch interval (γ, ζ) = (-0.1, 1.1) and temperature β = 2/3
_LOW, _HIGH, _BETA = -0.1, 1.1, 2.0 / 3.0


class DiffPruningOptions(Section):
    """The difference vector's targets, sparsity and penalty."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["all"], description=TARGETS_DESCRIPTION
    )
    # Guo et al. reach 0.5% non-zero (sparsity 0.995) on GLUE with BERT-large.
    sparsity: float = Field(
        0.99, ge=0, lt=1, description="Share of each weight's difference entries that are zero."
    )
    l0_weight: float = Field(
        1.0, ge=0, description="λ: weight of the expected-L0 penalty (share of open gates)."
    )
    init_log_alpha: float = Field(
        3.0, description="Initial gate log-odds (3: gates start almost surely open)."
    )
    fix_mask_at: float | None = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the planned steps after which the projected mask is fixed and "
        "only δ trains (the paper's second stage); null: never fix it.",
    )


class SparseDiff(WeightDelta):
    """``δ ⊙ z`` with hard-concrete gates ``z`` and a projection onto the sparsity target."""

    def __init__(self, shape: torch.Size, sparsity: float, init_log_alpha: float):
        super().__init__()
        self.keep = max(1, round((1 - sparsity) * math.prod(shape)))
        self.diff = nn.Parameter(torch.zeros(shape))
        self.log_alpha = nn.Parameter(torch.full(shape, init_log_alpha))
        # the fixed mask of the second stage (all ones until then); saved with the method
        self.register_buffer("fixed", torch.zeros(0))

    def gates(self, *, sample: bool) -> torch.Tensor:
        """Sampled hard-concrete gates, or the deterministic test-time estimate."""
        if sample:
            u = torch.rand_like(self.log_alpha).clamp(1e-6, 1 - 1e-6)
            s = torch.sigmoid((u.log() - (-u).log1p() + self.log_alpha) / _BETA)
        else:
            s = torch.sigmoid(self.log_alpha)
        return (s * (_HIGH - _LOW) + _LOW).clamp(0, 1)

    def projected_mask(self) -> torch.Tensor:
        """The deterministic gates restricted to the ``keep`` largest ``|δ ⊙ z|``."""
        gates = self.gates(sample=False)
        magnitude = (self.diff * gates).abs().flatten()
        mask = torch.zeros_like(magnitude)
        mask[magnitude.topk(self.keep).indices] = 1
        return mask.view_as(self.diff) * gates

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        if self.fixed.numel():
            return self.diff * self.fixed
        if self.training:
            return self.diff * self.gates(sample=True)
        return self.diff * self.projected_mask()

    def fix(self) -> None:
        with torch.no_grad():
            self.fixed = (self.projected_mask() > 0).float()
        self.log_alpha.requires_grad_(False)

    def expected_density(self) -> torch.Tensor:
        """P(z ≠ 0) averaged over the entries (Louizos et al., eq. 12)."""
        return torch.sigmoid(self.log_alpha - _BETA * math.log(-_LOW / _HIGH)).mean()


@register
class DiffPruning(NativeMethod):
    name = "diffpruning"
    family: ClassVar[Family] = "reparameterised"
    memory = MethodProfile("full", note="a dense difference vector per weight")
    paper = "Guo, Rush & Kim, 2021, Parameter-Efficient Transfer Learning with Diff Pruning"
    Options = DiffPruningOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        for _, layer in select_linears(model, options.target_modules, method=self.name):
            add_delta(
                layer, SparseDiff(layer.weight.shape, options.sparsity, options.init_log_alpha)
            )
        self.l0_weight = options.l0_weight
        self.fix_step = (
            None
            if options.fix_mask_at is None or not self.total_steps
            else max(1, int(options.fix_mask_at * self.total_steps))
        )
        return {"fix_step": self.fix_step}

    def extra_loss(self, model: nn.Module) -> torch.Tensor | None:
        diffs = [d for _, _, d in deltas(model) if isinstance(d, SparseDiff)]
        open_ = [d.expected_density() for d in diffs if d.fixed.numel() == 0]
        if not model.training or not open_ or not getattr(self, "l0_weight", 0):
            return None
        return self.l0_weight * torch.stack(open_).mean()

    def step_hooks(self, model: nn.Module) -> list[Callable[[int], None]]:
        def fix_mask(step: int) -> None:
            if self.fix_step is not None and step == self.fix_step:
                for _, _, d in deltas(model):
                    if isinstance(d, SparseDiff):
                        d.fix()

        return [fix_mask]

    def load_state(self, model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
        # the fixed mask is a buffer of size 0 until fixed: size it before loading
        for name, _, d in deltas(model):
            key = f"{name}.parametrizations.weight.0.fixed"
            if isinstance(d, SparseDiff) and key in tensors:
                d.fixed = torch.zeros_like(tensors[key])
        super().load_state(model, tensors)


def sparsity_of(model: nn.Module) -> float:
    """The share of zero entries in the deterministic difference (eval-mode ``δ ⊙ z``)."""
    zeros = total = 0
    with torch.no_grad():
        for _, layer, d in deltas(model):
            if isinstance(d, SparseDiff):
                was = d.training
                d.eval()
                update = d.delta(layer.parametrizations["weight"].original)  # type: ignore[index,union-attr]
                d.train(was)
                zeros += int((update == 0).sum())
                total += update.numel()
    return zeros / max(total, 1)
