"""``train:`` supervised fine-tuning settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.base import Section


class TrainConfig(Section):
    """Supervised fine-tuning (TRL's SFTTrainer) settings."""

    epochs: float = Field(3, gt=0, description="Passes over the training split.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many steps.")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    batch_size: int = Field(8, ge=1, description="Per-device batch size.")
    gradient_accumulation_steps: int = Field(
        1, ge=1, description="Steps whose gradients add up before an update."
    )
    max_length: int = Field(512, ge=16, description="Longest training sequence, in tokens.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "cosine", description="Learning-rate schedule after warmup."
    )
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of steps for linear warmup.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
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
