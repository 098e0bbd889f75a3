"""``train:`` supervised fine-tuning settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat

from tunesmith.config.auto import Auto, is_auto
from tunesmith.config.base import Section
from tunesmith.config.forgetting import ForgettingConfig

# the keys whose 'auto' the planner fills before training (its rules: tunesmith.plan.hparams);
# the other Auto keys (precision, gradient_checkpointing, shared_context) are decided by the
# trainer on the machine that trains (train/hardware.py, train/sft.py)
PLANNED_KEYS = ("epochs", "learning_rate", "batch_size", "gradient_accumulation_steps",
                "weight_decay", "label_smoothing", "early_stopping_patience",
                "early_stopping_min_delta")

Count = Annotated[int, Field(ge=1)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class TrainConfig(Section):
    """Supervised fine-tuning (TRL's SFTTrainer) settings."""

    @property
    def planned_autos(self) -> set[str]:
        """The planner's keys written as 'auto': the planner fills them (docs/planning.md)."""
        return {k for k in PLANNED_KEYS if is_auto(getattr(self, k))}

    epochs: Auto[PositiveFloat] = Field(
        3.0, description="Passes over the training split; 'auto': the plan's rule.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many steps.")
    learning_rate: Auto[PositiveFloat] = Field(
        2e-4, description="Peak learning rate; 'auto': lr-find's suggestion or the plan's.")
    batch_size: Auto[Count] = Field(
        8, description="Per-device batch size; 'auto': the largest that fits (plan).")
    gradient_accumulation_steps: Auto[Count] = Field(
        1, description="Steps whose gradients add up before an update; 'auto': to reach "
        "plan.target_effective_batch."
    )
    max_length: int = Field(512, ge=16, description="Longest training sequence, in tokens.")
    group_by_length: bool = Field(
        True, description="Batch records of similar length together (transformers' "
        "LengthGroupedSampler): less padding to compute, the same records every epoch.")
    shared_context: Auto[bool] = Field(
        "auto", description="Compute each context once for all the records asked about it: "
        "their common prefix once, each record's question and answer as a branch under a 4-D "
        "attention mask (train.packing; the same loss, about half the tokens on generated "
        "Q&A). 'auto': on where the loss takes the LM head at supervised positions only (the "
        "CPU; no label smoothing, no extra loss that reads the logits, no prompt-learning "
        "method).")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "cosine", description="Learning-rate schedule after warmup."
    )
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of steps for linear warmup.")
    weight_decay: Auto[NonNegativeFloat] = Field(
        0.0, description="AdamW weight decay; 'auto': by data size (plan).")
    label_smoothing: Auto[Fraction] = Field(
        0.0, description="Label smoothing of the training loss (causal LM "
        "workflow; 0: off); the validation loss stays the plain cross-entropy. 'auto': by "
        "data size (plan; seed: 0.2 under 5k examples, 0.1 over 50k).")
    early_stopping_patience: Auto[PositiveFloat | None] = Field(
        None, description="Stop when the validation loss has not improved for this many "
        "epochs (the validation split is scored at every checkpoint, the best checkpoint is "
        "restored at the end); null: off. 'auto': the plan's (seed: 4).")
    early_stopping_min_delta: Auto[NonNegativeFloat] = Field(
        0.0, description="Smallest fall of the validation loss that counts as an "
        "improvement for early stopping. 'auto': the plan's (seed: 0.005).")
    # seed: "Clip norms: global_norm=1.0"
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    precision: Auto[Literal["fp32", "fp16", "bf16"]] = Field(
        "auto", description="'auto': bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU."
    )
    gradient_checkpointing: Auto[bool] = Field(
        "auto", description="'auto': on for a GPU, off on CPU, where it only costs time."
    )
    # consumer hardware (docs/training.md): each a switch whose effect `tunesmith compare` measures
    optimizer: Literal["adamw", "adamw_8bit", "paged_adamw_8bit", "paged_adamw", "adafactor"] = (
        Field("adamw", description="adamw (torch), adamw_8bit / paged_adamw_8bit (bitsandbytes: "
              "8-bit optimizer state; 'paged' pages it to CPU memory under GPU memory "
              "pressure, CUDA only, plain on CPU), paged_adamw (32-bit, paged), adafactor."))
    offload_optimizer: bool = Field(
        False, description="Keep optimizer state in CPU memory (DeepSpeed ZeRO-Offload, stage 2) "
        "on a GPU; on a CPU-only machine the state is already there and this does nothing.")
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept.")
    logging_steps: int = Field(10, ge=1, description="Log the training loss every N steps.")
    forgetting: ForgettingConfig = Field(default_factory=ForgettingConfig)
    # experiment tracking (docs/training.md, "Tracking"): what the Trainer logs goes there too
    report_to: list[Literal["tensorboard", "mlflow"]] = Field(
        default_factory=list, description="Experiment trackers: tensorboard (event files in "
        "runs/<name>/train/tensorboard/), mlflow (params, metrics, the config and the report, "
        "in a local store under runs/<name>/mlflow/ unless train.mlflow_tracking_uri names "
        "another).")
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow tracking URI (a server, or sqlite:///path.db); null: "
        "sqlite:///runs/<name>/mlflow/mlflow.db with artifacts beside it.")
