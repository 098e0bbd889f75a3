"""``movement_pruning``: a pruned update with learned importance scores (Sanh, Wolf & Rush,
2020, "Movement Pruning: Adaptive Sparsity by Fine-Tuning").

Each targeted weight becomes ``W + M(S) ⊙ Δ``: ``Δ`` a dense trainable update (zero at the
start) and ``M(S)`` the top-``(1 - p)`` mask of the importance scores ``S``. The scores train
with the straight-through estimator, so ``∂L/∂S = ∂L/∂(M ⊙ Δ) ⊙ Δ``: an entry gains importance
when it moves away from the base weight and the loss wants it to (movement, not magnitude: the
seed's ``I_ij = |θ_ij - θ⁰_ij|`` is the magnitude criterion, ``score: magnitude`` here).
The pruned share ``p`` follows the paper's cubic schedule from 0 to ``prune`` between
``warmup`` and ``1 - cooldown`` of the planned steps (``step_hooks``); it is a buffer saved
with the update, so a model saved mid-schedule reloads exactly. Mergeable: ``W + M ⊙ Δ``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

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

_DEFAULT_STEPS = 1000  # the schedule's length when the workflow does not say (total_steps)


class MovementPruningOptions(Section):
    """The pruned update's targets, final pruned share and schedule."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["all"], description=TARGETS_DESCRIPTION
    )
    # seed: "Prunes 50-80% parameters"
    prune: float = Field(0.7, ge=0, lt=1, description="Final share of each update pruned.")
    score: Literal["movement", "magnitude"] = Field(
        "movement",
        description="movement: learned scores (Sanh et al.); magnitude: |Δ| (the seed's "
        "I = |θ - θ⁰|).",
    )
    warmup: float = Field(
        0.1, ge=0, lt=1, description="Share of the planned steps before pruning starts."
    )
    cooldown: float = Field(
        0.2, ge=0, lt=1, description="Share of the planned steps at the final sparsity."
    )


class _TopK(torch.autograd.Function):
    """Mask of the ``keep`` largest scores; the gradient passes straight through."""

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor, keep: int) -> torch.Tensor:
        mask = torch.zeros_like(scores).flatten()
        mask[scores.flatten().topk(keep).indices] = 1
        return mask.view_as(scores)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class PrunedUpdate(WeightDelta):
    pruned: torch.Tensor

    def __init__(self, shape: torch.Size, score: str):
        super().__init__()
        self.score = score
        self.update = nn.Parameter(torch.zeros(shape))
        # movement scores; with score=magnitude they stay unused (and frozen)
        self.scores = nn.Parameter(torch.zeros(shape), requires_grad=score == "movement")
        self.register_buffer("pruned", torch.tensor(0.0))  # the current share p

    def mask(self) -> torch.Tensor:
        keep = max(1, round((1 - float(self.pruned)) * self.update.numel()))
        if keep == self.update.numel():
            return torch.ones_like(self.update) + 0 * self.scores  # keep ∂/∂S flowing
        scores = self.scores if self.score == "movement" else self.update.detach().abs()
        return _TopK.apply(scores, keep)  # type: ignore[no-any-return]

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        return self.mask() * self.update


def cubic_share(step: int, total: int, final: float, warmup: float, cooldown: float) -> float:
    """Sanh et al.'s cubic schedule: p_t = p_f + (0 - p_f)(1 - (t - t_0)/(T - t_0 - t_c))^3."""
    start, end = warmup * total, (1 - cooldown) * total
    if step <= start:
        return 0.0
    if step >= end or end <= start:
        return final
    return final * (1 - (1 - (step - start) / (end - start)) ** 3)


@register
class MovementPruning(NativeMethod):
    name = "movement_pruning"
    family: ClassVar[Family] = "reparameterised"
    memory = MethodProfile("full", note="scores the size of each weight")
    paper = "Sanh, Wolf & Rush, 2020, Movement Pruning: Adaptive Sparsity by Fine-Tuning"
    Options = MovementPruningOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        for _, layer in select_linears(model, options.target_modules, method=self.name):
            add_delta(layer, PrunedUpdate(layer.weight.shape, options.score))
        self.schedule: MovementPruningOptions = options
        self.steps = self.total_steps or _DEFAULT_STEPS
        return {"schedule_steps": self.steps}

    def step_hooks(self, model: nn.Module) -> list[Callable[[int], None]]:
        def advance(step: int) -> None:
            o = self.schedule
            set_pruned_share(model, cubic_share(step, self.steps, o.prune, o.warmup, o.cooldown))

        return [advance]


def set_pruned_share(model: nn.Module, share: float) -> None:
    for _, _, d in deltas(model):
        if isinstance(d, PrunedUpdate):
            d.pruned.fill_(share)


def pruned_share(model: nn.Module) -> float:
    """The share of zero entries in the masked updates."""
    zeros = total = 0
    with torch.no_grad():
        for _, _, d in deltas(model):
            if isinstance(d, PrunedUpdate):
                zeros += int((d.mask() == 0).sum())
                total += d.update.numel()
    return zeros / max(total, 1)
