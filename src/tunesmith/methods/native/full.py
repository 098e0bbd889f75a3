"""``full``: full fine-tuning, every parameter trainable; the reference the others are scored
against (the seed's comparison table gives each method's performance as a % of full FT).

Saving writes the whole state dict (tied tensors once); merging is the identity.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from tunesmith.methods.base import Family, MethodProfile, NoOptions
from tunesmith.methods.native._common import NativeMethod, register


@register
class Full(NativeMethod):
    name = "full"
    family: ClassVar[Family] = "full"
    memory = MethodProfile("full")
    paper = "Full fine-tuning (all parameters), the baseline of every PEFT comparison"
    Options = NoOptions
    mergeable = True
    trains_base = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        for p in model.parameters():
            p.requires_grad_(True)
        return {}
