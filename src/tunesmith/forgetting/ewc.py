"""Elastic weight consolidation (Kirkpatrick et al., 2017, PNAS 114(13)): a quadratic pull of
each trainable parameter back to where it started, in proportion to how much the base model's
general ability depends on it.

    penalty = λ · Σ_i F_i (θ_i − θ*_i)²      (the seed: EWC_loss = sum(λ * F_i * (θ_i − θ*_i)^2))

- θ* is each trainable parameter's value before the first step. For full fine-tuning that is the
  base model. For an adapter it is the adapter's initial value, and an adapter at its initial
  value leaves the merged model equal to the base (LoRA's B starts at zero, so W + BA = W; IA³'s
  scales start at one): θ* *is* the merged base, expressed in the parameters that train.
- F is the diagonal empirical Fisher of the base's next-token loss on general text
  (``data/prose_fisher.txt``, not the passages the probe scores), taken at θ* through the same
  parametrisation: for each passage, the gradient g of its summed token loss; F = mean over
  passages of g² / tokens. Dividing by the token count makes F the per-token Fisher (under
  independent tokens E[(Σ_t g_t)²] = Σ_t E[g_t²]), so ½ Σ F Δ² approximates the rise of the
  mean token loss on general text, and λ weighs it against the task's mean token loss.
- A parameter whose Fisher is zero everywhere is not pulled at all, and is not stored: LoRA's A,
  whose gradient vanishes while B is zero. Pulling B back to zero already bounds BA.

The penalty is a ``train_sft`` extra loss that never reads the model's outputs
(``needs_outputs = False``: training keeps its fast path) and a Trainer callback: the Fisher
and θ* are taken at ``on_init_end``, when the method has shaped the model and before any step
or checkpoint restore, so a resumed run is pulled to the same θ*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from rich.console import Console
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tunesmith.errors import TunesmithError
from tunesmith.utils.progress import make_progress


def trainable_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def diagonal_fisher(model: nn.Module, tokenizer: Any, texts: Sequence[str],
                    max_length: int = 256, console: Console | None = None
                    ) -> dict[str, torch.Tensor]:
    """The per-token diagonal empirical Fisher of ``model``'s trainable parameters on ``texts``
    (float32, on each parameter's device). Gradients are left cleared, the mode restored."""
    if not texts:
        raise TunesmithError("train.forgetting.ewc: no general text to estimate the Fisher on")
    params = trainable_parameters(model)
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params}
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()  # no dropout: the Fisher of the model as it predicts
    try:
        with make_progress(console) as progress:
            task = progress.add_task("EWC: Fisher on general text", total=len(texts), info="")
            for text in texts:
                batch = tokenizer(text, return_tensors="pt", truncation=True,
                                  max_length=max_length).to(device)
                ids = batch["input_ids"]
                if ids.shape[1] < 2:
                    progress.update(task, advance=1)
                    continue
                model.zero_grad(set_to_none=True)
                logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits
                loss = nn.functional.cross_entropy(logits[0, :-1].float(), ids[0, 1:],
                                                   reduction="sum")
                loss.backward()
                tokens = ids.shape[1] - 1
                for name, param in params:
                    if param.grad is not None:
                        fisher[name] += param.grad.detach().float().pow(2) / tokens
                progress.update(task, advance=1)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return {n: f / len(texts) for n, f in fisher.items()}


@dataclass
class _Anchor:
    name: str
    param: nn.Parameter
    fisher: torch.Tensor
    start: torch.Tensor  # θ*


class EWCPenalty(TrainerCallback):
    """λ · weight · Σ F (θ − θ*)² over the trainable parameters; ``weight`` is the curriculum's
    old-task weight (1 without a curriculum)."""

    needs_outputs = False  # train_sft: called with outputs=None, the fast loss path stays on

    def __init__(self, strength: float, texts: Sequence[str], max_length: int = 256,
                 console: Console | None = None):
        self.strength = strength
        self.weight = 1.0
        self.texts = list(texts)
        self.max_length = max_length
        self.console = console
        self.anchors: list[_Anchor] = []
        self.last_penalty: float | None = None
        self.fisher_stats: dict[str, float] = {}

    def consolidate(self, model: nn.Module, tokenizer: Any) -> None:
        """Take θ* and F now (before training)."""
        fisher = diagonal_fisher(model, tokenizer, self.texts, self.max_length, self.console)
        self.anchors = [_Anchor(n, p, fisher[n], p.detach().float().clone())
                        for n, p in trainable_parameters(model) if bool(fisher[n].any())]
        values = torch.cat([a.fisher.flatten() for a in self.anchors]) if self.anchors else None
        kept = int(values.numel()) if values is not None else 0
        total = sum(p.numel() for _, p in trainable_parameters(model))
        self.fisher_stats = {
            "parameters_pulled": kept, "parameters_trainable": total,
            "fisher_mean": float(values.mean()) if values is not None else 0.0,
            "fisher_max": float(values.max()) if values is not None else 0.0,
            "passages": len(self.texts)}

    def penalty(self) -> torch.Tensor:
        """Σ F (θ − θ*)², unscaled, differentiable in θ."""
        if not self.anchors:
            raise TunesmithError("EWC penalty asked for before the Fisher was taken")
        total: torch.Tensor | None = None
        for a in self.anchors:
            term = (a.fisher * (a.param.float() - a.start).pow(2)).sum()
            total = term if total is None else total + term.to(total.device)
        assert total is not None
        return total

    def __call__(self, model: nn.Module, inputs: Any = None, outputs: Any = None) -> torch.Tensor:
        value = self.strength * self.weight * self.penalty()
        self.last_penalty = float(value.detach())
        return value

    def on_init_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    model: nn.Module | None = None, processing_class: Any = None,
                    **kwargs: Any) -> None:
        if model is None or processing_class is None:
            raise TunesmithError("train.forgetting.ewc: the Trainer gave no model or tokenizer")
        self.consolidate(model, processing_class)

    def summary(self) -> dict[str, Any]:
        return {"strength": self.strength, **self.fisher_stats,
                "last_penalty": self.last_penalty}
