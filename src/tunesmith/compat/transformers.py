"""transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (5.x).

TRL's ``SFTConfig`` still defaults the old name to True, so setting only the old name warns
on every run; setting the new one where it exists is silent and means the same.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from transformers import TrainingArguments

_FIELDS = {f.name for f in dataclasses.fields(TrainingArguments)}


def checkpointing_kwargs(enabled: bool) -> dict[str, Any]:
    """Training-argument keywords that turn activation (gradient) checkpointing on or off."""
    if "activation_checkpointing" in _FIELDS:
        return {"activation_checkpointing": enabled}
    return {"gradient_checkpointing": enabled}
