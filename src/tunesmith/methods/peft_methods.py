"""The methods Hugging Face PEFT provides, each a thin :class:`PeftMethod`: our Options in, a
PEFT config out. PEFT does the work (wrapping, saving, loading, merging); adapters are saved in
PEFT's own format, so ``PeftModel.from_pretrained(base, folder)`` loads them anywhere.

Papers: LoRA (Hu et al., 2021), DoRA (Liu et al., 2024), rsLoRA (Kalajdzievski, 2023), QLoRA
(Dettmers et al., 2023), AdaLoRA (Zhang et al., 2023), IA3 (Liu et al., 2022), prompt tuning
(Lester et al., 2021), prefix tuning (Li & Liang, 2021), P-tuning (Liu et al., 2021), LoHa
(Hyeon-Woo et al., 2022), LoKr (Edalati et al., 2022), VeRA (Kopiczko et al., 2024), OFT (Qiu et
al., 2023), BOFT (Liu et al., 2024), LN tuning (Zhao et al., 2024). Soft prompts and the
pass-through for any other PEFT tuner are in ``peft_prompts``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from tunesmith.compat.bitsandbytes import fit_cpu_packing
from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import METHODS, MergeNotSupportedError, MethodProfile, TuningMethod

# the PEFT wrapper for each head transformers puts on a backbone; the wrapper knows the head's
# inputs and saves the (new, randomly initialised) head with the adapter (modules_to_save)
_TASK_TYPES = {"ForCausalLM": "CAUSAL_LM", "ForQuestionAnswering": "QUESTION_ANS",
               "ForSequenceClassification": "SEQ_CLS", "ForTokenClassification": "TOKEN_CLS"}


def peft_task_type(model: nn.Module) -> str | None:
    """PEFT's task type for ``model`` from its class name (``BertForQuestionAnswering`` ->
    ``QUESTION_ANS``); None (a bare backbone) for anything else."""
    name = type(model).__name__
    return next((task for suffix, task in _TASK_TYPES.items() if name.endswith(suffix)), None)


class PeftMethod(TuningMethod):
    """Common to every PEFT method: subclasses only turn their Options into a PEFT config."""

    def peft_config(self, options: Any) -> Any:
        raise NotImplementedError

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        from peft import get_peft_model

        config = self.peft_config(options)
        if hasattr(config, "task_type"):
            config.task_type = peft_task_type(model)
        targets = getattr(config, "target_modules", None)
        if isinstance(targets, (list, set)) and targets:
            names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
            if not names & set(targets):
                # the seed's LLaMA names (q_proj, v_proj) on another architecture (BERT's
                # query/value): PEFT's own default target modules for that model type
                config.target_modules = None
        return get_peft_model(model, config)  # type: ignore[arg-type]

    def save(self, model: nn.Module, directory: Path) -> None:
        model.save_pretrained(str(directory))  # type: ignore[operator]

    def load(self, base: nn.Module, directory: Path) -> nn.Module:
        from peft import PeftModel

        return PeftModel.from_pretrained(base, str(directory))  # type: ignore[arg-type]

    def merge(self, model: nn.Module) -> nn.Module:
        if not self.mergeable:
            raise MergeNotSupportedError(self.merge_refusal())
        return model.merge_and_unload()  # type: ignore[operator,no-any-return]

    def merge_refusal(self) -> str:
        return f"{type(self).__name__} cannot be merged into the base weights"


# ---------------------------------------------------------------- LoRA, DoRA, QLoRA


class LoraOptions(Section):
    """LoRA: a low-rank update ΔW = (alpha/r)·B·A beside each targeted linear layer."""

    # seed: LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj","v_proj"])
    r: int = Field(8, ge=1, description="LoRA rank.")
    alpha: int = Field(32, gt=0, description="Scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        description="Module names to adapt, or 'all-linear'.")
    use_dora: bool = Field(False, description="DoRA: learn magnitude and direction apart.")
    use_rslora: bool = Field(False, description="rsLoRA: scale by alpha/sqrt(r), not alpha/r.")
    bias: Literal["none", "all", "lora_only"] = Field(
        "none", description="Which biases train with the adapter.")


def _lora_config(options: LoraOptions, use_dora: bool) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=options.r, lora_alpha=options.alpha, lora_dropout=options.dropout,
                      target_modules=options.target_modules, use_dora=use_dora,
                      use_rslora=options.use_rslora, bias=options.bias, task_type="CAUSAL_LM")


@METHODS.register("lora")
class Lora(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter")
    paper = "Hu et al., 2021, LoRA: Low-Rank Adaptation of Large Language Models"
    Options = LoraOptions
    mergeable = True

    def peft_config(self, options: LoraOptions) -> Any:
        return _lora_config(options, options.use_dora)


@METHODS.register("dora")
class Dora(PeftMethod):
    """LoRA with ``use_dora`` always on: its own name, so the comparison shows it apart."""

    family = "reparameterised"
    memory = MethodProfile("adapter", note="+ a magnitude vector per target")
    paper = "Liu et al., 2024, DoRA: Weight-Decomposed Low-Rank Adaptation"
    Options = LoraOptions
    mergeable = True

    def peft_config(self, options: LoraOptions) -> Any:
        return _lora_config(options, True)


class QloraOptions(LoraOptions):
    """LoRA on a base quantised to 4 bits by bitsandbytes."""

    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type (nf4: QLoRA).")
    double_quant: bool = Field(True, description="Quantise the quantisation constants too.")
    compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Matmul dtype; 'auto': bf16 on a GPU that has it, else float32.")


@METHODS.register("qlora")
class Qlora(PeftMethod):
    family = "hybrid"
    memory = MethodProfile("adapter", quantized_base=True, note="4-bit NF4 base")
    paper = "Dettmers et al., 2023, QLoRA: Efficient Finetuning of Quantized LLMs"
    Options = QloraOptions
    mergeable = False
    # the 4-bit base comes from load_kwargs, which only the causal LM loader applies: on an
    # encoder task it would train an unquantised LoRA under QLoRA's name
    tasks = ("causal_lm",)

    def load_kwargs(self, options: QloraOptions) -> dict[str, Any]:
        from transformers import BitsAndBytesConfig

        dtype = options.compute_dtype
        if dtype == "auto":
            bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            dtype = "bfloat16" if bf16 else "float32"
        return {"quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=options.quant_type,
            bnb_4bit_use_double_quant=options.double_quant,
            bnb_4bit_compute_dtype=getattr(torch, dtype))}

    def prepare(self, model: nn.Module, options: QloraOptions) -> nn.Module:
        from peft import prepare_model_for_kbit_training

        fit_cpu_packing(model)  # layers narrower than bitsandbytes' CPU repacking takes
        # gradient checkpointing is the workflow's switch (train.gradient_checkpointing)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        return super().prepare(model, options)

    def load(self, base: nn.Module, directory: Path) -> nn.Module:
        fit_cpu_packing(base)
        return super().load(base, directory)

    def peft_config(self, options: QloraOptions) -> Any:
        return _lora_config(options, options.use_dora)

    def merge_refusal(self) -> str:
        return ("qlora: merging into 4-bit weights re-quantises them and changes the outputs; "
                "load the base in 16/32-bit and merge the adapter as 'lora' instead")


# ---------------------------------------------------------------- AdaLoRA


class AdaloraOptions(Section):
    """AdaLoRA: LoRA whose rank budget is reallocated by importance during training."""

    init_r: int = Field(12, ge=1, description="Rank each layer starts with.")
    target_r: int = Field(8, ge=1, description="Average rank left after the budget schedule.")
    alpha: int = Field(32, gt=0, description="Scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter path.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")
    tinit_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps before pruning starts.")
    tfinal_ratio: float = Field(0.2, ge=0, lt=1, description="Share of final steps at target_r.")
    delta_t: int = Field(1, ge=1, description="Steps between two budget allocations (deltaT).")
    orth_reg_weight: float = Field(0.5, ge=0, description="Orthogonality regulariser weight.")

    @model_validator(mode="after")
    def _schedule_fits(self) -> AdaloraOptions:
        if self.tinit_ratio + self.tfinal_ratio >= 1:
            raise ValueError("tinit_ratio + tfinal_ratio must be below 1 (steps left to prune)")
        if self.target_r > self.init_r:
            raise ValueError(f"target_r ({self.target_r}) must not exceed init_r ({self.init_r})")
        return self


@METHODS.register("adalora")
class Adalora(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", note="rank starts at init_r")
    paper = ("Zhang et al., 2023, Adaptive Budget Allocation for Parameter-Efficient "
             "Fine-Tuning (AdaLoRA)")
    Options = AdaloraOptions
    mergeable = True

    def peft_config(self, options: AdaloraOptions) -> Any:
        from peft import AdaLoraConfig

        total = self.total_steps
        if not total:
            raise TunesmithError("adalora needs the planned number of optimizer steps")
        # PEFT requires steps left between the warm-up (tinit) and the final phase (tfinal)
        tinit, tfinal = int(options.tinit_ratio * total), int(options.tfinal_ratio * total)
        tinit = min(tinit, total - 1)
        tfinal = min(tfinal, max(0, total - tinit - 1))
        return AdaLoraConfig(init_r=options.init_r, target_r=options.target_r,
                             lora_alpha=options.alpha, lora_dropout=options.dropout,
                             target_modules=options.target_modules, tinit=tinit, tfinal=tfinal,
                             deltaT=options.delta_t, orth_reg_weight=options.orth_reg_weight,
                             total_step=total, task_type="CAUSAL_LM")

    def step_hooks(self, model: nn.Module) -> list[Callable[[int], None]]:
        # AdaLoRA reads the gradients to score importance: after step(), before zero_grad()
        tuner: Any = model.base_model  # type: ignore[union-attr]
        return [tuner.update_and_allocate]


# ---------------------------------------------------------------- other reparameterisations


class IA3Options(Section):
    """IA3: learned vectors that rescale keys, values and the FFN's activations."""

    target_modules: list[str] | None = Field(
        None, description="Modules to rescale; default PEFT's for the architecture "
        "(LLaMA: k_proj, v_proj, down_proj).")
    feedforward_modules: list[str] | None = Field(
        None, description="Which of them are FFN layers (scaled on the input side).")


@METHODS.register("ia3")
class IA3(PeftMethod):
    family = "additive"
    memory = MethodProfile("vector")
    paper = ("Liu et al., 2022, Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper "
             "than In-Context Learning (IA3)")
    Options = IA3Options
    mergeable = True

    def peft_config(self, options: IA3Options) -> Any:
        from peft import IA3Config

        return IA3Config(target_modules=options.target_modules,
                         feedforward_modules=options.feedforward_modules, task_type="CAUSAL_LM")


class LohaOptions(Section):
    """LoHa: the update as a Hadamard product of two low-rank products."""

    r: int = Field(8, ge=1, description="Rank of each factor.")
    alpha: int = Field(16, gt=0, description="Scaling numerator.")
    rank_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the rank dimension.")
    module_dropout: float = Field(0.0, ge=0, lt=1, description="Chance to skip an adapter.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")


@METHODS.register("loha")
class Loha(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=2.0)
    paper = ("Hyeon-Woo et al., 2022, FedPara: Low-Rank Hadamard Product for "
             "Communication-Efficient Federated Learning (LoHa)")
    Options = LohaOptions
    mergeable = True

    def peft_config(self, options: LohaOptions) -> Any:
        from peft import LoHaConfig

        return LoHaConfig(r=options.r, alpha=options.alpha, rank_dropout=options.rank_dropout,
                          module_dropout=options.module_dropout,
                          target_modules=options.target_modules)


class LokrOptions(Section):
    """LoKr: the update as a Kronecker product with a low-rank factor."""

    r: int = Field(8, ge=1, description="Rank of the low-rank factor.")
    alpha: int = Field(16, gt=0, description="Scaling numerator.")
    decompose_both: bool = Field(False, description="Low-rank both Kronecker factors.")
    decompose_factor: int = Field(-1, description="Kronecker split factor (-1: automatic).")
    rank_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the rank dimension.")
    module_dropout: float = Field(0.0, ge=0, lt=1, description="Chance to skip an adapter.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")


@METHODS.register("lokr")
class Lokr(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=0.5)
    paper = ("Edalati et al., 2022, KronA: Parameter Efficient Tuning with Kronecker Adapter "
             "(LoKr)")
    Options = LokrOptions
    mergeable = True

    def peft_config(self, options: LokrOptions) -> Any:
        from peft import LoKrConfig

        return LoKrConfig(r=options.r, alpha=options.alpha, decompose_both=options.decompose_both,
                          decompose_factor=options.decompose_factor,
                          rank_dropout=options.rank_dropout,
                          module_dropout=options.module_dropout,
                          target_modules=options.target_modules)


class VeraOptions(Section):
    """VeRA: frozen shared random low-rank matrices, only two scaling vectors train."""

    r: int = Field(256, ge=1, description="Rank of the shared random matrices.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")
    projection_prng_key: int = Field(0, description="Seed of the shared random matrices.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the VeRA path.")
    d_initial: float = Field(0.1, description="Initial value of the d scaling vector.")


@METHODS.register("vera")
class Vera(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=0.02)
    paper = "Kopiczko et al., 2024, VeRA: Vector-based Random Matrix Adaptation"
    Options = VeraOptions
    mergeable = True

    def peft_config(self, options: VeraOptions) -> Any:
        from peft import VeraConfig

        return VeraConfig(r=options.r, target_modules=options.target_modules,
                          projection_prng_key=options.projection_prng_key,
                          vera_dropout=options.dropout, d_initial=options.d_initial,
                          task_type="CAUSAL_LM")


class OftOptions(Section):
    """OFT: a learned block-diagonal orthogonal rotation of each targeted weight."""

    oft_block_size: int = Field(16, ge=1, description="Size of each orthogonal block "
                                "(must divide the layers' input width).")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")
    coft: bool = Field(False, description="Constrained OFT: keep the rotation near identity.")
    eps: float = Field(6e-5, gt=0, description="COFT's constraint radius.")
    block_share: bool = Field(False, description="One rotation shared by every block.")
    module_dropout: float = Field(0.0, ge=0, lt=1, description="Chance to skip a block.")


@METHODS.register("oft")
class Oft(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=1.0)
    paper = ("Qiu et al., 2023, Controlling Text-to-Image Diffusion by Orthogonal Finetuning "
             "(OFT)")
    Options = OftOptions
    mergeable = True

    def peft_config(self, options: OftOptions) -> Any:
        from peft import OFTConfig

        return OFTConfig(r=0, oft_block_size=options.oft_block_size,
                         target_modules=options.target_modules, coft=options.coft,
                         eps=options.eps, block_share=options.block_share,
                         module_dropout=options.module_dropout, task_type="CAUSAL_LM")


class BoftOptions(Section):
    """BOFT: the orthogonal rotation as a product of sparse butterfly factors."""

    boft_block_size: int = Field(4, ge=1, description="Size of each butterfly block.")
    boft_n_butterfly_factor: int = Field(1, ge=1, description="Butterfly factors (1: OFT).")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], description="Module names to adapt.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Multiplicative dropout on blocks.")


@METHODS.register("boft")
class Boft(PeftMethod):
    family = "reparameterised"
    memory = MethodProfile("adapter", adapter_factor=1.0)
    paper = ("Liu et al., 2024, Parameter-Efficient Orthogonal Finetuning via Butterfly "
             "Factorization (BOFT)")
    Options = BoftOptions
    mergeable = True

    def peft_config(self, options: BoftOptions) -> Any:
        from peft import BOFTConfig

        return BOFTConfig(boft_block_size=options.boft_block_size,
                          boft_n_butterfly_factor=options.boft_n_butterfly_factor,
                          target_modules=options.target_modules, boft_dropout=options.dropout,
                          task_type="CAUSAL_LM")


class LnTuningOptions(Section):
    """LN tuning: train (a copy of) the layer norms only."""

    target_modules: list[str] | None = Field(
        None, description="Norm layers to tune; default PEFT's for the architecture.")


@METHODS.register("ln_tuning")
class LnTuning(PeftMethod):
    family = "selective"
    memory = MethodProfile("norm")
    paper = ("Zhao et al., 2024, Tuning LayerNorm in Attention: Towards Efficient Multi-Modal "
             "LLM Finetuning")
    Options = LnTuningOptions
    mergeable = True

    def peft_config(self, options: LnTuningOptions) -> Any:
        from peft import LNTuningConfig

        return LNTuningConfig(target_modules=options.target_modules, task_type="CAUSAL_LM")
