"""``freeze``: layer freezing, a selective method: train only the last N transformer layers
and/or modules chosen by name, everything else frozen.

The seed's taxonomy lists it under selective methods ("Update only last N layers"); the top
layers are the most task-specific (Howard & Ruder, 2018, ULMFiT; Lee et al., 2019, "What Would
Elsa Do? Freezing Layers During Transformer Fine-Tuning"). The update is the trained weights
themselves, so merging is the identity.
"""

from __future__ import annotations

import fnmatch
from typing import Any, ClassVar

from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._common import NativeMethod, find_blocks, register


class FreezeOptions(Section):
    """Which parts of the model train; the union of ``layers`` and ``modules``."""

    # seed: "Layer Freezing: Update only last N layers"
    layers: int = Field(2, ge=0, description="Train the last N transformer layers (0: none).")
    modules: list[str] = Field(
        default_factory=list,
        description="Also train modules whose qualified name matches one of these glob "
        "patterns (e.g. 'model.norm', '*.self_attn.o_proj', 'lm_head').",
    )


@register
class Freeze(NativeMethod):
    name = "freeze"
    family: ClassVar[Family] = "selective"
    memory = MethodProfile("freeze", note="trains the top layers only")
    paper = "Lee et al., 2019, What Would Elsa Do? Freezing Layers During Transformer Fine-Tuning"
    Options = FreezeOptions
    mergeable = True
    trains_base = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        blocks = find_blocks(model)
        if options.layers > len(blocks):
            raise TunesmithError(
                f"method freeze: layers={options.layers} but the model has {len(blocks)} layers"
            )
        chosen = [b.name for b in blocks[len(blocks) - options.layers :]]
        for pattern in options.modules:
            found = [n for n, _ in model.named_modules() if n and fnmatch.fnmatchcase(n, pattern)]
            if not found:
                raise TunesmithError(
                    f"method freeze: modules pattern {pattern!r} matched no module "
                    f"(e.g. {', '.join(n for n, _ in list(model.named_modules())[1:6])})"
                )
            chosen += found
        if not chosen:
            raise TunesmithError("method freeze: nothing to train (layers: 0 and no modules)")
        modules = dict(model.named_modules())
        for name in chosen:
            for p in modules[name].parameters():
                p.requires_grad_(True)
        return {"trained_modules": chosen}
