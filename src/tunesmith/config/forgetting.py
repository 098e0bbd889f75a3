"""``train.forgetting:`` the mitigations of catastrophic forgetting, and ``eval.forgetting:`` its
probe.

The seed's "Mitigation Framework" (section "What is catastrophic forgetting in LLMs?"), each a
switch: elastic regularisation (EWC), a memory buffer replayed during training, and a curriculum
that decays the old-task weight. Architectural isolation is the choice of ``method`` (an adapter
against ``full``): ``tunesmith compare CONFIG --forgetting`` measures every one of them.
docs/forgetting.md explains each, with the measured comparison.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from tunesmith.config.base import Section


class EWCConfig(Section):
    """Elastic weight consolidation (Kirkpatrick et al., 2017) on the trainable parameters."""

    enabled: bool = Field(False, description="Add the EWC penalty to the training loss.")
    strength: float = Field(
        1.0e3, gt=0, description="λ in λ Σ F_i (θ_i − θ*_i)², F the diagonal Fisher of the base "
        "model on the shipped general text, θ* the trainable parameters before training (for an "
        "adapter: its initial values, which leave the merged model equal to the base).")
    fisher_texts: int | None = Field(
        None, ge=1, description="Passages of the shipped general text (the half the probe does "
        "not score) whose squared gradients average into F; null: all of them.")
    max_length: int = Field(256, ge=16, description="Tokens per Fisher passage (longer: cut).")


class ReplayConfig(Section):
    """A memory buffer of general examples mixed into the training split (self-distillation)."""

    enabled: bool = Field(False, description="Mix general examples into the training split.")
    # seed: "Memory Buffers: Store 10% original data -> periodic replay"
    share: float = Field(
        0.1, gt=0, lt=1, description="Share of the training split that is general examples "
        "(replayed / (task + replayed)); their targets are the base model's own greedy replies "
        "to the shipped general prompts, so no outside data is needed.")
    max_new_tokens: int = Field(
        160, ge=8, description="Longest base-model reply kept as a target; a reply cut at this "
        "length is dropped (it would teach the model to stop mid-sentence).")


class CurriculumConfig(Section):
    """Decaying old-task weighting (the seed's λ = 0.5 → 0.1 over epochs) on the EWC term."""

    enabled: bool = Field(
        False, description="Multiply the EWC term by a weight that falls linearly with training "
        "progress from `start` to `end` (needs `ewc.enabled`).")
    # seed: "Joint training with decaying old-task weighting: λ = 0.5 → λ = 0.1 over epochs"
    start: float = Field(0.5, ge=0, description="Old-task weight at the first step.")
    end: float = Field(0.1, ge=0, description="Old-task weight at the last step.")


class ForgettingConfig(Section):
    """Mitigations of catastrophic forgetting (docs/forgetting.md); all off by default."""

    ewc: EWCConfig = Field(default_factory=EWCConfig)
    replay: ReplayConfig = Field(default_factory=ReplayConfig)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)

    @model_validator(mode="after")
    def _curriculum_weights_a_term(self) -> ForgettingConfig:
        if self.curriculum.enabled and not self.ewc.enabled:
            raise ValueError(
                "curriculum.enabled needs ewc.enabled: the decaying old-task weight multiplies "
                "the EWC term (replayed examples are weighted like every training example)")
        return self

    @property
    def any_enabled(self) -> bool:
        return self.ewc.enabled or self.replay.enabled


class ForgettingProbeConfig(Section):
    """The forgetting probe: general ability of the base and the tuned model (causal LMs)."""

    enabled: bool = Field(
        True, description="Run the probe in the eval stage and write eval/forgetting.json "
        "(general-text perplexity, verifiable instruction following, closed-book QA).")
    max_items: int | None = Field(
        None, ge=1, description="Use only the first N of each probe's items (passages, "
        "instructions, questions): a faster, coarser probe.")
    max_new_tokens: int = Field(
        128, ge=8, description="Longest reply to an instruction, in tokens.")
    qa_max_new_tokens: int = Field(
        32, ge=1, description="Longest reply to a closed-book question, in tokens.")
    batch_size: int = Field(16, ge=1, description="Prompts generated at once.")
