"""What a fine-tuning method means for memory: what it trains, what it stores, what it saves.

The estimator never imports the methods themselves (no torch needed to plan); each registered
method name maps to one :class:`MethodProfile` here, and ``tests/unit/test_registries.py``
holds the table to the registry. A method missing from the table (``peft``, whose size is the
size of whichever PEFT tuner it names) is an error that lists the ones tunesmith can size.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.errors import TunesmithError
from tunesmith.plan.catalog import ModelShape

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class MethodProfile:
    """``kind`` decides the accounting: full, freeze (top layers), adapter (low-rank and
    friends on target projections), vector (IA3-like scalings), prompt (virtual tokens),
    bottleneck (Houlsby adapters), norm (LayerNorm/RMSNorm tuning), bias (BitFit)."""

    kind: str
    adapter_factor: float = 1.0  # adapter params per r*(in+out): 2 for LoHa, ...
    quantized_base: bool = False
    note: str = ""


PROFILES: dict[str, MethodProfile] = {
    "full": MethodProfile("full"),
    "freeze": MethodProfile("freeze", note="trains the top layers only"),
    "lora": MethodProfile("adapter"),
    "dora": MethodProfile("adapter", note="+ a magnitude vector per target"),
    "adalora": MethodProfile("adapter", note="rank starts at init_r"),
    "loha": MethodProfile("adapter", adapter_factor=2.0),
    "lokr": MethodProfile("adapter", adapter_factor=0.5),
    "vera": MethodProfile("adapter", adapter_factor=0.02),
    "oft": MethodProfile("adapter", adapter_factor=1.0),
    "boft": MethodProfile("adapter", adapter_factor=1.0),
    "lora_adapter": MethodProfile("adapter", note="LoRA + adapter hybrid"),
    "intrinsic_said": MethodProfile("adapter", adapter_factor=0.1),
    "tucker": MethodProfile("adapter"),
    "block_sparse": MethodProfile("adapter"),
    "compacter": MethodProfile("bottleneck", adapter_factor=0.1),
    "qlora": MethodProfile("adapter", quantized_base=True, note="4-bit NF4 base"),
    "ia3": MethodProfile("vector"),
    "prompt_tuning": MethodProfile("prompt"),
    "p_tuning": MethodProfile("prompt"),
    "prefix_tuning": MethodProfile("prompt", note="virtual keys/values in every layer"),
    "houlsby": MethodProfile("bottleneck"),
    "ln_tuning": MethodProfile("norm"),
    "bitfit": MethodProfile("bias"),
    "head_mask": MethodProfile("vector"),
    "diffpruning": MethodProfile("full", note="a dense difference vector per weight"),
    "movement_pruning": MethodProfile("full", note="scores the size of each weight"),
}


class UnknownMethodError(TunesmithError):
    pass


def profile(method: str) -> MethodProfile:
    if method not in PROFILES:
        raise UnknownMethodError(
            f"tunesmith cannot size method {method!r} yet; it sizes: {', '.join(sorted(PROFILES))}")
    return PROFILES[method]


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
