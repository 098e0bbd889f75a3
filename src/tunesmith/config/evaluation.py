"""``eval:`` how base and tuned models are scored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.base import Section
from tunesmith.config.forgetting import ForgettingProbeConfig


class EvalConfig(Section):
    """How the base and the tuned model are scored (SQuAD 2.0 EM/F1)."""

    split: Literal["test", "val"] = Field("test", description="The split to score.")
    compare: list[Literal["base", "tuned"]] = Field(
        ["base", "tuned"], min_length=1, description="Models to score."
    )
    max_new_tokens: int = Field(32, ge=1, description="Longest generated answer, in tokens.")
    batch_size: int = Field(16, ge=1, description="Prompts generated at once.")
    max_examples: int | None = Field(None, ge=1, description="Score only the first N records.")
    dataset: str | None = Field(
        None,
        description="Score this dataset instead of the split: a SQuAD 2.0 JSON file (e.g. real "
        "human questions) or QA records (.jsonl); relative to the config file.",
    )
    ablation: bool = Field(
        True, description="Also score with each gate removed and each gate alone."
    )
    load_in: Literal["8bit", "4bit"] | None = Field(
        None, description="Load the models for scoring quantised by bitsandbytes (8-bit LLM.int8 "
        "or 4-bit nf4) to fit a smaller GPU; null: the checkpoint's own precision.")
    merge_adapter: bool = Field(
        True, description="Fold a mergeable adapter (LoRA, DoRA, IA3, ...) into the base weights "
        "when loading the tuned model for answering: the same function without the adapter's "
        "extra matrix products in every layer. Not with load_in (the update would be rounded "
        "into quantised weights) nor for a method that cannot merge.")
    forgetting: ForgettingProbeConfig = Field(default_factory=ForgettingProbeConfig)
