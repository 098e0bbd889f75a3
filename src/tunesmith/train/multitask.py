"""Multi-task SFT: the causal LM also learns to predict whether the context answers.

seed: "Custom loss function: L = L_CE + λ × KL-divergence(confidence_predictions,
confidence_labels)" and "Multi-task learning: Jointly train for question answering and
answerability classification".

A small head (one linear layer, 2 classes) reads the LM's final hidden state at the last prompt
token, the position from which the answer is generated. Its target is the record's
answerability, optionally smoothed (1 - s / s). The term added to the SFT loss is
λ · KL(label ‖ prediction) averaged over the batch: with a one-hot label this is the cross
entropy, with smoothing it is the cross entropy minus the label's entropy.

The head is not part of the model the method saves (its parameters would not fit a fresh base
model): its gradients step its own AdamW inside backward (a post-accumulate-grad hook, the
"optimizer in backward" pattern), and it is saved beside the adapter
(``train/answerability_head.safetensors``). At inference its probability is the
``multitask_head`` gate's signal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

# the head's module and loading are inference's
from tunesmith.config.auto import resolved
from tunesmith.errors import TunesmithError
from tunesmith.inference.multitask_head import HEAD_CONFIG, HEAD_FILE, AnswerabilityHead
from tunesmith.utils.io import write_json_atomic

__all__ = ["MultitaskLoss", "abstain_matcher", "answerability_targets", "build_multitask",
           "confidence_kl", "prompt_end_positions"]


def answerability_targets(labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """[batch, 2] target distribution (unanswerable, answerable) from 0/1 labels."""
    one_hot = F.one_hot(labels.long(), num_classes=2).float()
    return one_hot * (1 - 2 * smoothing) + smoothing


def confidence_kl(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0
                  ) -> torch.Tensor:
    """KL(target ‖ softmax(logits)), mean over the batch (the seed's confidence term)."""
    target = answerability_targets(labels, smoothing)
    return F.kl_div(F.log_softmax(logits.float(), dim=-1), target, reduction="batchmean")


def prompt_end_positions(labels: torch.Tensor) -> torch.Tensor:
    """Index of the last prompt token: just before the first supervised (label != -100) one."""
    supervised = labels != -100
    first = torch.where(supervised.any(dim=1), supervised.float().argmax(dim=1),
                        torch.full_like(labels[:, 0], labels.shape[1]))
    return (first - 1).clamp(min=0)


class MultitaskLoss:
    """The ``extra_losses`` term for ``train_sft``: λ · KL over the head at the prompt end.

    ``is_answerable(completion_ids) -> bool`` tells the label from the supervised tokens (the
    abstention text means unanswerable), so no extra column has to survive the collator.
    """

    def __init__(self, weight: float, smoothing: float,
                 is_answerable: Callable[[list[int]], bool], learning_rate: float = 1e-3):
        self.weight = weight
        self.smoothing = smoothing
        self.is_answerable = is_answerable
        self.learning_rate = learning_rate
        self.head: AnswerabilityHead | None = None
        self._hidden: torch.Tensor | None = None
        self._optimizers: dict[torch.Tensor, torch.optim.Optimizer] = {}
        self.history: list[float] = []

    def _attach(self, model: Any) -> AnswerabilityHead:
        """On the first batch: the head, its optimizer and the hidden-state hook."""
        output = model.get_output_embeddings()
        if not isinstance(output, nn.Linear):
            raise TunesmithError("multitask: the model has no linear output layer to read from")
        head = AnswerabilityHead(output.in_features).to(output.weight.device)
        output.register_forward_pre_hook(self._capture)
        for p in head.parameters():
            self._optimizers[p] = torch.optim.AdamW([p], lr=self.learning_rate)
            p.register_post_accumulate_grad_hook(self._step)
        self.head = head
        return head

    def _capture(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        self._hidden = args[0]

    def _step(self, param: torch.Tensor) -> None:
        optimizer = self._optimizers[param]  # type: ignore[index]
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def __call__(self, model: nn.Module, inputs: dict[str, Any], outputs: Any) -> torch.Tensor:
        if "labels" not in inputs:
            raise RuntimeError("multitask loss: the batch has no labels")
        head = self.head or self._attach(model)
        if self._hidden is None:  # the first batch ran before the hook: run it once more
            model(**{k: v for k, v in inputs.items() if k != "labels"})
        assert self._hidden is not None
        labels = inputs["labels"]
        ends = prompt_end_positions(labels)
        hidden = self._hidden[torch.arange(labels.shape[0], device=labels.device), ends]
        answerable = torch.tensor(
            [self.is_answerable([t for t in row.tolist() if t != -100]) for row in labels],
            device=labels.device)
        loss = confidence_kl(head(hidden), answerable, self.smoothing)
        self.history.append(float(loss.detach()))
        self._hidden = None
        return self.weight * loss

    def save(self, directory: Path) -> None:
        if self.head is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()},
                  str(directory / HEAD_FILE))
        write_json_atomic(directory / HEAD_CONFIG, {
            "hidden_size": self.head.proj.in_features, "lambda": self.weight,
            "smoothing": self.smoothing, "classes": ["unanswerable", "answerable"],
            "last_losses": self.history[-20:]})


def abstain_matcher(tokenizer: Any, abstain_text: str) -> Callable[[list[int]], bool]:
    """``is_answerable`` for :class:`MultitaskLoss`: the completion is not the abstention."""

    def is_answerable(ids: list[int]) -> bool:
        return abstain_text not in tokenizer.decode(ids, skip_special_tokens=True)

    return is_answerable


def build_multitask(config: Any, base_model: str) -> MultitaskLoss | None:
    """The term for ``train_sft(extra_losses=...)`` when ``guard.multitask_lambda`` > 0."""
    if config.guard.multitask_lambda <= 0:
        return None
    from tunesmith.models.loading import load_tokenizer  # deferred: imports transformers

    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)
    return MultitaskLoss(config.guard.multitask_lambda, config.guard.label_smoothing,
                         abstain_matcher(tokenizer, config.guard.abstain_text),
                         learning_rate=resolved(config.train.learning_rate,
                                                "train.learning_rate"))
