"""The causal-LM loss computed only where it is needed: the LM head at supervised positions.

With completion-only loss, a context-question prompt of ~200 tokens supervises the ~5 tokens of
its answer. TRL's fused LM head projects only those positions on Triton devices; elsewhere (the
CPU) it projects every position in tiles, and SmolLM2's 49k-word head is about a fifth of the
forward pass. transformers' ``logits_to_keep`` (a tensor of positions) asks the model for the
logits of the positions whose next token is supervised, in any row of the batch, and nothing
else; the loss and TRL's logged metrics (entropy, token accuracy) come from those.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class SupervisedLoss:
    loss: torch.Tensor
    num_valid: torch.Tensor  # supervised tokens in this batch
    entropy_sum: torch.Tensor
    num_correct: torch.Tensor


def accepts_logits_to_keep(model: nn.Module) -> bool:
    """Whether the loss below applies: the model takes ``logits_to_keep`` and prepends no
    virtual tokens (PEFT's prompt-learning methods shift every position)."""
    config = getattr(model, "active_peft_config", None)
    if config is not None and getattr(config, "is_prompt_learning", False):
        return False
    get_base = getattr(model, "get_base_model", None)
    base = get_base() if callable(get_base) else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def supervised_loss(model: nn.Module, inputs: dict[str, Any],
                    num_items_in_batch: torch.Tensor | int | None = None) -> SupervisedLoss:
    """Mean next-token cross-entropy over the supervised tokens (``labels != -100``), the
    head applied only at the positions some row of the batch supervises."""
    labels = inputs["labels"][:, 1:]
    supervised = (labels != -100).any(dim=0)
    keep = supervised.nonzero().squeeze(1)  # position t predicts the label at t + 1
    forward = {k: v for k, v in inputs.items() if k != "labels"}
    logits = model(**forward, logits_to_keep=keep, use_cache=False).logits.float()
    target = labels[:, keep]
    flat_logits, flat_target = logits.reshape(-1, logits.size(-1)), target.reshape(-1)
    summed = F.cross_entropy(flat_logits, flat_target, ignore_index=-100, reduction="sum")
    valid = flat_target != -100
    num_valid = valid.sum()
    denominator = num_valid if num_items_in_batch is None else num_items_in_batch
    loss = summed / torch.as_tensor(denominator, device=summed.device).clamp(min=1)
    with torch.no_grad():
        scored = flat_logits[valid]
        log_p = torch.log_softmax(scored, dim=-1)
        entropy_sum = -(log_p.exp() * log_p).sum()
        num_correct = (scored.argmax(dim=-1) == flat_target[valid]).sum()
    return SupervisedLoss(loss, num_valid, entropy_sum, num_correct)


ExtraLoss = Callable[[nn.Module, dict[str, Any], Any], torch.Tensor]
"""``(model, inputs, outputs) -> scalar``: a term added to the training loss (multi-task heads,
a forgetting penalty). A term that never reads ``outputs`` sets the attribute
``needs_outputs = False``: it is then called with ``outputs=None`` and the loss keeps the fast
supervised-head path (``train.losses``)."""


def needs_outputs(term: ExtraLoss) -> bool:
    """Whether the extra loss ``term`` reads the model's outputs."""
    return bool(getattr(term, "needs_outputs", True))
