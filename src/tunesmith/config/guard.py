"""``guard:`` how the model abstains when the context is not enough.

The gates (guard/gates/, one module each) each carry the seed's default threshold;
``thresholds`` overrides one by name, and ``tunesmith calibrate`` chooses them on the
validation split (written to ``runs/<name>/guard/thresholds.json``, which inference then uses
instead of the defaults).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tunesmith.config.auto import Auto
from tunesmith.config.base import Section

# seed: "Add negative examples ... with [No sufficient context] labels"
DEFAULT_ABSTAIN_TEXT = "[No sufficient context]"


class RejectionHeadConfig(Section):
    """The seed's rejection head: an encoder classifier over question + context."""

    enabled: bool = Field(
        False,
        description="Train the rejection head (beside the causal LM or the extractive model) "
        "in the train stage; its probability becomes the 'rejection_head' gate.",
    )
    epochs: float | None = Field(None, gt=0, description="Epochs; default: train.epochs.")
    learning_rate: float | None = Field(
        None, gt=0, description="Peak learning rate; default: train.learning_rate."
    )
    max_length: int = Field(256, ge=16, description="Longest question + context, in tokens.")


class ExtractiveConfig(Section):
    """SQuAD 2.0-style span extraction (model.task: extractive_qa)."""

    doc_stride: int = Field(
        128, ge=8, description="Overlap between windows of a context longer than max_length."
    )
    max_answer_length: int = Field(30, ge=1, description="Longest answer span, in tokens.")
    n_best: int = Field(20, ge=1, description="Start and end candidates per window.")


class CalibrateConfig(Section):
    """How ``tunesmith calibrate`` chooses each gate's threshold on the validation split."""

    objective: Literal["f1", "risk"] = Field(
        "f1",
        description="'f1': maximise SQuAD 2.0 F1 (the official best-threshold sweep); "
        "'risk': the largest coverage whose risk (1 - F1 of the answered) stays <= target_risk.",
    )
    target_risk: float = Field(
        0.2, gt=0, lt=1, description="With objective 'risk': the highest acceptable risk."
    )
    bins: int = Field(10, ge=2, le=50, description="Bins of the reliability diagram and ECE.")
    split: Literal["val", "train"] = Field("val", description="The split thresholds come from.")
    dataset: str | None = Field(
        None,
        description="Choose the thresholds on this file instead of the split: hand-written "
        "questions (SQuAD 2.0 .json or QA-record .jsonl) about documents neither trained on "
        "nor in the evaluation set. Generated validation questions repeat their sentence's "
        "words, so a threshold chosen on them abstains too often on people's questions "
        "(docs/results.md).",
    )
    in_run: bool = Field(
        False,
        description="Causal LM: calibrate as a stage of `tunesmith run` (encoder tasks always "
        "do); otherwise `tunesmith calibrate` runs it, and eval then applies the thresholds.",
    )
    max_examples: int | None = Field(None, ge=1, description="Use only the first N records.")


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
    no_answer_threshold: Auto[Annotated[float, Field(gt=0, lt=1)] | None] = Field(
        None, description="Causal LM: abstain only when the model's probability of "
        "its whole abstention reply is at least this (0.5: when abstaining is likelier than "
        "any answer); a greedy abstention below it is generated again with the abstention's "
        "first token suppressed. auto: the eval stage chooses it per model on the validation "
        "split (the highest F1 there; eval/no_answer_threshold.json), and answer, serve and "
        "decide use that choice. null: greedy decoding decides alone.")
    gates: list[str] | None = Field(
        None,
        description="Gates applied at inference (registered names, see docs/guard.md); "
        "default: every gate that applies to the task and to what was trained.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Fixed thresholds by gate name, instead of the seed default "
        "(calibration still reports both).",
    )
    encoder_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Encoder of the rejection head and of the question-context similarity "
        "gate (bundled offline; or a local path / cached Hub name).",
    )
    rejection_head: RejectionHeadConfig = Field(default_factory=RejectionHeadConfig)
    extractive: ExtractiveConfig = Field(default_factory=ExtractiveConfig)
    calibrate: CalibrateConfig = Field(default_factory=CalibrateConfig)
    multitask_lambda: float = Field(
        0.0, ge=0,
        description="Causal LM: weight of the answerability head's KL term, "
        "L = L_CE + lambda * KL (0 = plain SFT).",
    )
    label_smoothing: float = Field(
        0.0, ge=0, lt=0.5,
        description="Causal LM multitask: answerability labels become 1 - s / s.",
    )

    def system_message(self) -> str:
        return self.system_prompt.replace("{abstain}", self.abstain_text)
