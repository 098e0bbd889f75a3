"""``hf``: Q&A pairs from a local transformers causal language model.

The model (a Hub name already in the local cache, a local path, or ``tiny``: the built-in
model, built from the contexts themselves) is given the same prompt as the ``llm`` generator,
through its chat template, and its reply goes through the same JSON parsing, schema validation
and span check. A small model mostly writes replies that fail these checks: such a context is
skipped with the reason in ``rejected.jsonl``, never turned into a bad record. This is the
offline path to model-written data when an instruction-tuned model is available locally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.config.model import ModelConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate.base import GENERATORS
from tunesmith.data.generate.prompting import (
    SYSTEM,
    InvalidReply,
    pairs_to_records,
    parse_pairs,
    qa_prompt,
    skipped_context,
)
from tunesmith.data.schema import QARecord, Rejection

if TYPE_CHECKING:
    from tunesmith.config.data_gen import HFGenerateConfig


class LocalModel:
    """A causal LM and its tokenizer, loaded on first use, generating replies in batches."""

    def __init__(self, config: HFGenerateConfig, seed: int = 0) -> None:
        self.config = config
        self.seed = seed
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self, texts: Sequence[str]) -> None:
        if self._model is not None:
            return
        # deferred: importing it loads torch, transformers
        from tunesmith.models.loading import load_causal_lm, load_tokenizer, resolve_base_model

        name = resolve_base_model(ModelConfig(name=self.config.model), list(texts), self.seed)
        self._tokenizer = load_tokenizer(name)
        self._tokenizer.padding_side = "left"  # generation continues the prompt's end
        self._tokenizer.truncation_side = "left"  # a too-long prompt keeps its reply marker
        self._model = load_causal_lm(name).eval()

    def complete(self, prompts: Sequence[str], texts: Sequence[str]) -> list[str]:
        """The model's reply to each prompt (``texts``: what the built-in model learns from)."""
        import torch

        self._load(texts)
        tokenizer, model = self._tokenizer, self._model
        limit = getattr(model.config, "max_position_embeddings", 2048)
        replies: list[str] = []
        torch.manual_seed(self.seed)
        for i in range(0, len(prompts), self.config.batch_size):
            chunk = prompts[i : i + self.config.batch_size]
            chats = [tokenizer.apply_chat_template(
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": p}],
                tokenize=False, add_generation_prompt=True) for p in chunk]
            max_prompt = max(16, limit - self.config.max_new_tokens)
            batch = tokenizer(chats, return_tensors="pt", padding=True, truncation=True,
                              max_length=max_prompt, add_special_tokens=False)
            sampling = self.config.temperature > 0
            with torch.no_grad():
                output = model.generate(
                    **batch, max_new_tokens=self.config.max_new_tokens, do_sample=sampling,
                    temperature=self.config.temperature if sampling else None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            replies += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return replies


@GENERATORS.register("hf")
class HFGenerator:
    """The seed's prompt to a local transformers model; replies validated and span-checked."""

    def __init__(
        self, config: GenerateConfig | None = None, *, cache_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or GenerateConfig(generator="hf")
        self.model = LocalModel(self.config.hf, seed)
        self.rejected: list[Rejection] = []
        del cache_dir

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]:
        return self.generate_batch([context], limit)[0]

    def generate_batch(
        self, contexts: Sequence[Context], limit: int, on_done: Callable[[int], None] | None = None
    ) -> list[list[QARecord]]:
        m = self.config.hf.unanswerable_per_context
        prompts = [qa_prompt(c.text, limit + m, m) for c in contexts]
        replies = self.model.complete(prompts, [c.text for c in contexts])
        out: list[list[QARecord]] = []
        for context, reply in zip(contexts, replies, strict=True):
            try:
                pairs = parse_pairs(reply)
            except InvalidReply as exc:
                self.rejected.append(skipped_context(context, "hf", str(exc)))
                out.append([])
            else:
                records, rejected = pairs_to_records(context, pairs, "hf", limit,
                                                     model=self.config.hf.model)
                self.rejected += rejected
                out.append(records)
            if on_done:
                on_done(1)
        return out
