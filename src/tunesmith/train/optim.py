"""Optimizer choices for small machines: 8-bit state (bitsandbytes) and CPU offload (DeepSpeed).

AdamW keeps two fp32 moments per trained parameter: 8 bytes each, more than the fp16 weights
themselves. bitsandbytes' block-wise 8-bit AdamW stores them in 2 bytes (Dettmers et al., 2022,
8-bit Optimizers via Block-wise Quantization); its "paged" variants move the state to CPU memory
when the GPU runs short (CUDA unified memory; on a CPU they run as the plain ones).
ZeRO-Offload (Ren et al., 2021) keeps the optimizer state, and the step itself, on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunesmith.config import TrainConfig
from tunesmith.errors import TunesmithError

# train.optimizer -> TrainingArguments.optim
TRAINER_OPTIM = {
    "adamw": "adamw_torch",
    "adamw_8bit": "adamw_bnb_8bit",
    "paged_adamw_8bit": "paged_adamw_8bit",
    "paged_adamw": "paged_adamw_32bit",
    "adafactor": "adafactor",
}


@dataclass
class OptimizerChoice:
    """Keyword arguments for the trainer's config, and the reasons to print."""

    kwargs: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def zero_offload_config() -> dict[str, Any]:
    """DeepSpeed ZeRO stage 2 with the optimizer state and step on the CPU ("auto": from the
    trainer's own arguments, so the two cannot disagree)."""
    return {
        "zero_optimization": {
            "stage": 2,
            "offload_optimizer": {"device": "cpu", "pin_memory": True},
            "overlap_comm": True,
            "contiguous_gradients": True,
        },
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "optimizer": {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto",
                                                  "weight_decay": "auto"}},
        "zero_allow_untested_optimizer": True,
    }


def choose_optimizer(train: TrainConfig, device: str) -> OptimizerChoice:
    """The optimizer arguments for ``train`` on ``device`` ("cpu" or "cuda")."""
    choice = OptimizerChoice({"optim": TRAINER_OPTIM[train.optimizer]})
    if train.optimizer != "adamw":
        choice.reasons.append(f"optimizer {train.optimizer}: set in the config")
        if train.optimizer.startswith("paged") and device != "cuda":
            choice.reasons.append("paged optimizer on CPU: bitsandbytes runs it unpaged "
                                  "(paging needs CUDA unified memory)")
    if train.offload_optimizer:
        if train.optimizer != "adamw":
            raise TunesmithError(
                f"train.offload_optimizer uses DeepSpeed's CPU AdamW; it cannot be combined "
                f"with train.optimizer: {train.optimizer} (choose one)")
        if device == "cuda":
            choice.kwargs["deepspeed"] = zero_offload_config()
            choice.reasons.append("optimizer state offloaded to CPU memory (DeepSpeed "
                                  "ZeRO-Offload, stage 2)")
        else:
            choice.reasons.append("offload_optimizer: no GPU, so the optimizer state already "
                                  "lives in CPU memory; nothing to offload")
    return choice
