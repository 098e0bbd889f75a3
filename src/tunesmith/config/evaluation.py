"""``eval:`` how base and tuned models are scored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.base import Section


class EvalConfig(Section):
    split: Literal["test", "val"] = Field("test", description="The split to score.")
    compare: list[Literal["base", "tuned"]] = Field(
        default_factory=lambda: ["base", "tuned"], min_length=1
    )
    max_new_tokens: int = Field(32, ge=1)
    batch_size: int = Field(16, ge=1)
    max_examples: int | None = Field(None, ge=1, description="Score only the first N records.")
