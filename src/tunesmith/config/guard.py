"""``guard:`` how the model abstains when the context is not enough."""

from __future__ import annotations

from pydantic import Field

from tunesmith.config.base import Section

# seed: "Add negative examples ... with [No sufficient context] labels"
DEFAULT_ABSTAIN_TEXT = "[No sufficient context]"


class GuardConfig(Section):
    """How the model abstains when the context is not enough."""

    abstain_text: str = Field(
        DEFAULT_ABSTAIN_TEXT, min_length=1, description="What the model says instead of guessing."
    )
    # seed: "System message: Always respond [Not enough context] when information is missing
    # or contradictory"; {abstain} is replaced by abstain_text.
    system_prompt: str = Field(
        "Answer the question using only the context. Always respond {abstain} when "
        "information is missing or contradictory.",
        description="The system message; '{abstain}' is replaced by abstain_text.",
    )

    def system_message(self) -> str:
        return self.system_prompt.replace("{abstain}", self.abstain_text)
