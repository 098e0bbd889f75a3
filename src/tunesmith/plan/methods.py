"""What a fine-tuning method means for memory: what it trains, what it stores, what it saves.

Each registered method declares its :class:`~tunesmith.methods.base.MethodProfile` on its class
(``memory = MethodProfile("adapter")``), so adding a method is one module and the planner sizes
it. A method without one (``peft``, whose size is that of whichever PEFT tuner it names) is an
error that lists the ones tunesmith can size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunesmith.errors import TunesmithError
from tunesmith.plan.catalog import ModelShape

if TYPE_CHECKING:  # the class only: tunesmith.methods.base imports torch
    from tunesmith.methods.base import MethodProfile

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class UnknownMethodError(TunesmithError):
    pass


def sizable_methods() -> dict[str, MethodProfile]:
    """Every registered method's memory profile (``memory`` on its class), by name."""
    # deferred: importing the methods loads torch and PEFT, which sizing itself never needs
    from tunesmith.methods import METHODS

    return {name: memory for name in METHODS.names()
            if (memory := METHODS.get(name).memory) is not None}


def profile(method: str) -> MethodProfile:
    profiles = sizable_methods()
    if method not in profiles:
        raise UnknownMethodError(
            f"tunesmith cannot size method {method!r} yet; it sizes: {', '.join(sorted(profiles))}")
    return profiles[method]


def resolve_targets(targets: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(targets, str):
        return ALL_LINEAR if targets == "all-linear" else (targets,)
    if "all-linear" in targets:
        return ALL_LINEAR
    return tuple(t for t in targets if t in ALL_LINEAR) or tuple(targets)


def trainable_params(shape: ModelShape, method: str, *, rank: int = 8,
                     targets: tuple[str, ...] = ("q_proj", "v_proj"),
                     trainable_layers: int = 2, virtual_tokens: int = 20,
                     bottleneck: int = 64) -> int:
    """How many parameters the method trains (what gets gradients and optimizer states)."""
    prof = profile(method)
    lin = shape.linear_shapes()
    h, L = shape.hidden, shape.layers
    if prof.kind == "full":
        return shape.params
    if prof.kind == "freeze":
        # tunesmith's freeze trains the last N decoder layers only (options.modules adds more)
        return min(trainable_layers, L) * shape.layer_params
    if prof.kind == "adapter":
        per_layer = sum(rank * (lin[t][0] + lin[t][1]) for t in targets if t in lin)
        extra = sum(lin[t][1] for t in targets if t in lin) if method == "dora" else 0
        return int(L * (per_layer * prof.adapter_factor + extra))
    if prof.kind == "vector":
        return L * (2 * shape.kv_dim + shape.intermediate)
    if prof.kind == "prompt":
        if method == "prefix_tuning":
            return virtual_tokens * 2 * shape.kv_dim * L
        return virtual_tokens * h
    if prof.kind == "bottleneck":
        return int(L * 2 * (2 * h * bottleneck + bottleneck + h) * prof.adapter_factor)
    if prof.kind == "norm":
        return L * 2 * h + h
    if prof.kind == "bias":
        return L * sum(out for _, out in lin.values())
    raise AssertionError(prof.kind)
