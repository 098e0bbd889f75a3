"""transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (5.x).

TRL's ``SFTConfig`` still defaults the old name to True, so setting only the old name warns
on every run; setting the new one where it exists is silent and means the same. PEFT still
reads the model's old ``is_gradient_checkpointing`` property, which warns on every wrap.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

from transformers import TrainingArguments

_FIELDS = {f.name for f in dataclasses.fields(TrainingArguments)}


def checkpointing_kwargs(enabled: bool) -> dict[str, Any]:
    """Training-argument keywords that turn activation (gradient) checkpointing on or off."""
    if "activation_checkpointing" in _FIELDS:
        return {"activation_checkpointing": enabled}
    return {"gradient_checkpointing": enabled}


# transformers 5.x: "`is_gradient_checkpointing` is deprecated and will be removed in v6"
CHECKPOINTING_PROPERTY_DEPRECATION = ".*is_gradient_checkpointing.*"


def silence_peft_checkpointing_deprecation() -> None:
    """PEFT (``PeftModel.__init__``) still reads ``model.is_gradient_checkpointing``: nothing a
    user can act on, so its FutureWarning is filtered for the process."""
    warnings.filterwarnings("ignore", message=CHECKPOINTING_PROPERTY_DEPRECATION,
                            category=FutureWarning)
