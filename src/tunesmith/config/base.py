"""The base of every config section: unknown keys are errors, never silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. ``extra="forbid"`` turns a misspelt key into an error."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
