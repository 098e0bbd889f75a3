"""``train:`` supervised fine-tuning settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from tunesmith.config.base import Section
from tunesmith.config.forgetting import ForgettingConfig

# keys that accept 'auto' (the planner's rules fill them; see tunesmith.plan.hparams)
AUTO_FIELDS = ("epochs", "learning_rate", "batch_size", "gradient_accumulation_steps",
               "weight_decay", "label_smoothing", "early_stopping_patience",
               "early_stopping_min_delta")


class TrainConfig(Section):
    """Supervised fine-tuning (TRL's SFTTrainer) settings."""

    # 'auto' on one of these leaves the default in place and marks the key for the planner,
    # which fills it before training (docs/planning.md); the field types stay numeric
    _auto: set[str] = PrivateAttr(default_factory=set)

    @model_validator(mode="wrap")
    @classmethod
    def _take_auto(cls, data: Any, handler: Any) -> TrainConfig:
        auto: set[str] = set()
        if isinstance(data, dict):
            auto = {k for k in AUTO_FIELDS if data.get(k) == "auto"}
            data = {k: v for k, v in data.items() if k not in auto}
        config: TrainConfig = handler(data)
        config._auto = config._auto | auto
        return config

    @property
    def auto_keys(self) -> set[str]:
        """Keys written as 'auto': the planner fills them."""
        return set(self._auto)

    epochs: float = Field(
        3, gt=0, description="Passes over the training split; 'auto': the plan's rule.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many steps.")
    learning_rate: float = Field(
        2e-4, gt=0, description="Peak learning rate; 'auto': lr-find's suggestion or the plan's.")
    batch_size: int = Field(
        8, ge=1, description="Per-device batch size; 'auto': the largest that fits (plan).")
    gradient_accumulation_steps: int = Field(
        1, ge=1, description="Steps whose gradients add up before an update; 'auto': to reach "
        "plan.target_effective_batch."
    )
    max_length: int = Field(512, ge=16, description="Longest training sequence, in tokens.")
    group_by_length: bool = Field(
        True, description="Batch records of similar length together (transformers' "
        "LengthGroupedSampler): less padding to compute, the same records every epoch.")
    shared_context: bool | Literal["auto"] = Field(
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
    weight_decay: float = Field(
        0.0, ge=0, description="AdamW weight decay; 'auto': by data size (plan).")
    label_smoothing: float = Field(
        0.0, ge=0, lt=1, description="Label smoothing of the training loss (causal LM "
        "workflow; 0: off); the validation loss stays the plain cross-entropy. 'auto': by "
        "data size (plan; seed: 0.2 under 5k examples, 0.1 over 50k).")
    early_stopping_patience: float | None = Field(
        None, gt=0, description="Stop when the validation loss has not improved for this many "
        "epochs (the validation split is scored at every checkpoint, the best checkpoint is "
        "restored at the end); null: off. 'auto': the plan's (seed: 4).")
    early_stopping_min_delta: float = Field(
        0.0, ge=0, description="Smallest fall of the validation loss that counts as an "
        "improvement for early stopping. 'auto': the plan's (seed: 0.005).")
    # seed: "Clip norms: global_norm=1.0"
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="'auto': bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU."
    )
    gradient_checkpointing: bool | Literal["auto"] = Field(
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
