"""Soft prompts through PEFT, and ``peft``: any PEFT tuner type by name with its own arguments.

Papers: prompt tuning (Lester et al., 2021), prefix tuning (Li & Liang, 2021), P-tuning (Liu et
al., 2021); PEFT itself (Mangrulkar et al., 2022) for the pass-through.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from torch import nn

from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import METHODS, MergeNotSupportedError, MethodProfile
from tunesmith.methods.peft_methods import PeftMethod

# ---------------------------------------------------------------- soft prompts


class PromptTuningOptions(Section):
    """Prompt tuning: trainable virtual-token embeddings prepended to the input."""

    # seed: "Soft Prompting: Train prefix vectors (100-500 tokens)"; 20 keeps short examples
    # short on small models (measure both in `tunesmith compare`)
    num_virtual_tokens: int = Field(20, ge=1, description="Virtual tokens prepended.")
    init: Literal["random", "text"] = Field(
        "random", description="Start from random embeddings or from the embeddings of init_text.")
    init_text: str = Field(
        "Answer the question from the context, or say the context is not enough.",
        description="Text whose token embeddings start the prompt (init: text).")


@METHODS.register("prompt_tuning")
class PromptTuning(PeftMethod):
    family = "additive"
    memory = MethodProfile("prompt")
    paper = "Lester et al., 2021, The Power of Scale for Parameter-Efficient Prompt Tuning"
    Options = PromptTuningOptions

    tokenizer_path: str | None = None  # set by the workflow; needed for init: text

    def peft_config(self, options: PromptTuningOptions) -> Any:
        from peft import PromptTuningConfig

        if options.init == "text":
            if not self.tokenizer_path:
                raise TunesmithError("prompt_tuning with init: text needs the tokenizer path")
            return PromptTuningConfig(
                num_virtual_tokens=options.num_virtual_tokens, prompt_tuning_init="TEXT",
                prompt_tuning_init_text=options.init_text,
                tokenizer_name_or_path=self.tokenizer_path, task_type="CAUSAL_LM")
        return PromptTuningConfig(num_virtual_tokens=options.num_virtual_tokens,
                                  task_type="CAUSAL_LM")

    def merge_refusal(self) -> str:
        return "prompt_tuning: virtual tokens are extra inputs, not a change of any weight"


class PrefixTuningOptions(Section):
    """Prefix tuning: trainable key/value prefixes in every attention layer."""

    num_virtual_tokens: int = Field(20, ge=1, description="Prefix length.")
    prefix_projection: bool = Field(False, description="Reparameterise through an MLP.")
    encoder_hidden_size: int | None = Field(None, ge=1, description="That MLP's width.")


@METHODS.register("prefix_tuning")
class PrefixTuning(PeftMethod):
    family = "additive"
    memory = MethodProfile("prompt", note="virtual keys/values in every layer")
    paper = "Li & Liang, 2021, Prefix-Tuning: Optimizing Continuous Prompts for Generation"
    Options = PrefixTuningOptions

    def peft_config(self, options: PrefixTuningOptions) -> Any:
        from peft import PrefixTuningConfig

        extra: dict[str, Any] = ({"encoder_hidden_size": options.encoder_hidden_size}
                 if options.encoder_hidden_size else {})
        return PrefixTuningConfig(num_virtual_tokens=options.num_virtual_tokens,
                                  prefix_projection=options.prefix_projection,
                                  task_type="CAUSAL_LM", **extra)

    def merge_refusal(self) -> str:
        return "prefix_tuning: prefixes are extra keys/values, not a change of any weight"


class PTuningOptions(Section):
    """P-tuning: virtual tokens produced by a small trainable prompt encoder."""

    num_virtual_tokens: int = Field(20, ge=1, description="Virtual tokens prepended.")
    encoder: Literal["MLP", "LSTM"] = Field("MLP", description="The prompt encoder.")
    encoder_hidden_size: int = Field(128, ge=1, description="The prompt encoder's width.")


@METHODS.register("p_tuning")
class PTuning(PeftMethod):
    family = "additive"
    memory = MethodProfile("prompt")
    paper = "Liu et al., 2021, GPT Understands, Too (P-tuning)"
    Options = PTuningOptions

    def peft_config(self, options: PTuningOptions) -> Any:
        from peft import PromptEncoderConfig

        return PromptEncoderConfig(num_virtual_tokens=options.num_virtual_tokens,
                                   encoder_reparameterization_type=options.encoder,
                                   encoder_hidden_size=options.encoder_hidden_size,
                                   task_type="CAUSAL_LM")

    def merge_refusal(self) -> str:
        return "p_tuning: virtual tokens are extra inputs, not a change of any weight"


# ---------------------------------------------------------------- any PEFT tuner by name


def _peft_configs() -> dict[str, Any]:
    from peft import PEFT_TYPE_TO_CONFIG_MAPPING

    return {str(getattr(k, "value", k)).lower(): v for k, v in PEFT_TYPE_TO_CONFIG_MAPPING.items()}


class PeftPassthroughOptions(Section):
    """Any of PEFT's tuner types by name, with that config's own keyword arguments."""

    type: str = Field("fourierft", description="A PEFT tuner type (case-insensitive): lora, "
                      "fourierft, hra, c3a, shira, vblora, randlora, ... (45 in PEFT 0.21).")
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of that PEFT config class.")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        known = _peft_configs()
        if value.lower() not in known:
            close = difflib.get_close_matches(value.lower(), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"not a PEFT tuner type; {hint}PEFT {_peft_version()} has: "
                             f"{', '.join(sorted(known))}")
        return value.lower()

    @model_validator(mode="after")
    def _known_kwargs(self) -> PeftPassthroughOptions:
        config_cls = _peft_configs()[self.type]
        fields = [f.name for f in dataclasses.fields(config_cls) if f.init]
        problems = []
        for key, value in self.kwargs.items():
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                text = f"not an argument of {config_cls.__name__}{hint}"
                problems.append(InitErrorDetails(
                    type=PydanticCustomError("unknown_peft_argument",
                                             text.replace("{", "{{").replace("}", "}}")),
                    loc=("kwargs", key), input=value))
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _peft_version() -> str:
    import peft

    return str(peft.__version__)


@METHODS.register("peft")
class PeftPassthrough(PeftMethod):
    """Whatever PEFT offers that has no name of its own here; merges where PEFT can."""

    family = "hybrid"
    paper = "Mangrulkar et al., 2022, PEFT: State-of-the-art Parameter-Efficient Fine-Tuning"
    Options = PeftPassthroughOptions
    mergeable = True  # for tuner types that merge; prompt-learning types refuse (see merge)

    def peft_config(self, options: PeftPassthroughOptions) -> Any:
        config_cls = _peft_configs()[options.type]
        kwargs = dict(options.kwargs)
        if "task_type" in {f.name for f in dataclasses.fields(config_cls)}:
            kwargs.setdefault("task_type", "CAUSAL_LM")
        try:
            return config_cls(**kwargs)
        except (TypeError, ValueError) as error:
            raise TunesmithError(
                f"method peft ({options.type}): {error}") from error

    def merge(self, model: nn.Module) -> nn.Module:
        peft_model: Any = model
        if getattr(peft_model, "peft_config", None) is not None:
            config = next(iter(peft_model.peft_config.values()))
            if config.is_prompt_learning or not hasattr(model, "merge_and_unload"):
                raise MergeNotSupportedError(
                    f"peft ({config.peft_type}): this tuner type adds inputs or modules that "
                    "cannot be folded into the base weights")
        return super().merge(model)
