"""``method:`` the parameter-efficient fine-tuning method."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tunesmith.config.base import Section


class MethodConfig(Section):
    """LoRA (Hu et al., 2021) through PEFT."""

    name: Literal["lora"] = Field("lora", description="The PEFT method.")
    # seed: "Optimal rank: r=8", LoraConfig(r=8, lora_alpha=32, target_modules=[q_proj, v_proj])
    r: int = Field(8, ge=1, description="LoRA rank.")
    alpha: int = Field(32, gt=0, description="LoRA scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        description="Module names to adapt, or 'all-linear'.",
    )
