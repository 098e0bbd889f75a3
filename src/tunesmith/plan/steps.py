"""A few real training steps, for the learning-rate range test, the search and ``--measure``.

The model is prepared exactly as training prepares it: loaded through
:func:`tunesmith.models.loading.load_causal_lm` (or built from a shape for measurement), wrapped
by the configured method from the :data:`~tunesmith.methods.METHODS` registry, and trained with
the loss plus the method's ``extra_loss`` and its step hooks. A plain loop (not the Trainer) is
used because these tools need control per step: change the learning rate every step, stop on
divergence, report an evaluation loss to Optuna after each epoch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tunesmith.config import RunConfig
from tunesmith.data.formats.examples import to_examples
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError
from tunesmith.methods import METHODS


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]  # -100 on the prompt: the loss falls on the completion only


def _ids(encoded: Any) -> list[int]:
    if isinstance(encoded, dict) or hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(t) for t in encoded]


def tokenize_records(records: Sequence[QARecord], config: RunConfig, tokenizer: Any,
                     max_length: int) -> list[Example]:
    """Chat-formatted prompt + completion, the completion's tokens labelled (as TRL does)."""
    out = []
    for ex in to_examples(records, config.guard):
        prompt = _ids(tokenizer.apply_chat_template(ex["prompt"], tokenize=True,
                                                    add_generation_prompt=True))
        full = _ids(tokenizer.apply_chat_template(ex["prompt"] + ex["completion"],
                                                  tokenize=True))
        full = full[:max_length]
        labels = [-100] * min(len(prompt), len(full)) + full[len(prompt):]
        if any(t != -100 for t in labels):
            out.append(Example(full, labels[: len(full)]))
    return out


def batches(examples: Sequence[Example], batch_size: int, pad_id: int, seed: int,
            shuffle: bool = True) -> Iterator[dict[str, torch.Tensor]]:
    """Right-padded batches; padding is masked from attention and loss."""
    order = list(range(len(examples)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[start:start + batch_size]]
        width = max(len(e.input_ids) for e in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        labels = torch.full((len(chunk), width), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, e in enumerate(chunk):
            ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
            labels[row, : len(e.labels)] = torch.tensor(e.labels)
            mask[row, : len(e.input_ids)] = 1
        yield {"input_ids": ids, "labels": labels, "attention_mask": mask}


def prepare_model(model: nn.Module, method_name: str, options: Any,
                  total_steps: int | None = None,
                  tokenizer_path: str | None = None) -> tuple[nn.Module, Any]:
    """Wrap ``model`` with the registered method, as the training workflow does."""
    method = METHODS.get(method_name)()
    method.total_steps = total_steps
    if tokenizer_path and hasattr(method, "tokenizer_path"):  # soft prompts from text
        method.tokenizer_path = tokenizer_path
    return method.prepare(model, options), method


def enable_checkpointing(model: nn.Module) -> None:
    """Non-reentrant activation checkpointing, as the Trainer enables it."""
    model.gradient_checkpointing_enable(  # type: ignore[operator]
        gradient_checkpointing_kwargs={"use_reentrant": False})
    if hasattr(model, "enable_input_require_grads"):
        # a frozen embedding must still pass gradients on to the adapters above it
        model.enable_input_require_grads()  # type: ignore[operator]


class Stepper:
    """One optimizer step at a time, with the method's extra loss and step hooks."""

    def __init__(self, model: nn.Module, method: Any, learning_rate: float,
                 weight_decay: float = 0.0, max_grad_norm: float | None = 1.0):
        self.model = model
        self.method = method
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise TunesmithError("the prepared model has no trainable parameters")
        self.optimizer = torch.optim.AdamW(self.params, lr=learning_rate,
                                           weight_decay=weight_decay)
        self.max_grad_norm = max_grad_norm
        self.hooks = method.step_hooks(model) if method is not None else []
        self.step_count = 0

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        self.model.train()
        loss = self.model(**batch).loss  # type: ignore[operator]
        extra = self.method.extra_loss(self.model) if self.method is not None else None
        if extra is not None:
            loss = loss + extra
        loss.backward()
        if self.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        self.step_count += 1
        for hook in self.hooks:
            hook(self.step_count)
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())


@torch.no_grad()
def eval_loss(model: nn.Module, examples: Sequence[Example], batch_size: int,
              pad_id: int) -> float:
    """Mean token loss over ``examples`` (weighted by labelled tokens)."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches(examples, batch_size, pad_id, seed=0, shuffle=False):
        n = int((batch["labels"][:, 1:] != -100).sum())
        if n:
            total += float(model(**batch).loss) * n
            count += n
    return total / count if count else math.nan
