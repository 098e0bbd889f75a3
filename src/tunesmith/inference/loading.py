"""The one way to load a model for inference: :func:`load_predictor`.

Evaluation, calibration, the guard's signals, ``tunesmith answer`` and ``compare`` all load
through it, so each honours the same choices:

- which model: ``base`` (the run's base model), or the trained one (``tuned`` or any other
  label): a folder saved by any method (``methods.saved.load_tuned``: a PEFT adapter or a
  native method's files) or a merged model (a full ``config.json`` + weights folder);
- the device: CUDA when available, else the CPU;
- 8-bit or 4-bit loading (``eval.load_in``, through bitsandbytes; ``device_map`` places the
  quantised weights while loading);
- a mergeable adapter folded into the base weights for answering (``eval.merge_adapter``);
- encoder tasks (extractive QA, answerability): the encoder, fresh or trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.errors import TunesmithError
from tunesmith.inference.encoder import load_encoder, load_trained_encoder
from tunesmith.inference.multitask_head import load_head
from tunesmith.methods.base import METHODS, MergeNotSupportedError
from tunesmith.methods.saved import (
    METHOD_FILE,
    LoadIn,
    load_tuned,
    quantization_kwargs,
    saved_method,
)
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.utils.io import read_json
from tunesmith.utils.layout import RunLayout

BASE = "base"


@dataclass
class Predictor:
    """One loaded model that proposes answers: a causal LM or an extractive encoder."""

    kind: str  # "causal_lm" | "extractive_qa" | "answerability"
    model: Any
    tokenizer: Any
    label: str  # "base" | "tuned" | a method's name (compare)
    head: Any = None  # causal LM: the multitask answerability head, if trained
    # guard.no_answer_threshold: auto: the threshold the eval stage chose for this model on
    # validation (eval/no_answer_threshold.json), None before any choice
    no_answer_threshold: float | None = None


def inference_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def is_merged_model(directory: Path) -> bool:
    """A full model folder (weights merged into the base), not a method's saved part."""
    return ((directory / "config.json").is_file() and not (directory / METHOD_FILE).is_file()
            and not (directory / "adapter_config.json").is_file())


def load_causal_model(config: RunConfig, base_model: str, weights: Path | None = None,
                      load_in: LoadIn = None, merge: bool = False) -> Any:
    """The causal LM on the inference device: the base alone (``weights`` None), the base with
    what a method saved in ``weights`` (merged into the base weights with ``merge`` where the
    method can merge and the base is not quantised), or the merged model ``weights`` holds."""
    cuda = torch.cuda.is_available()

    def load(name: str, **kwargs: Any) -> Any:
        quantised = "quantization_config" in kwargs
        if quantised and cuda:
            kwargs["device_map"] = {"": 0}  # bitsandbytes places weights while loading
        model: Any = load_causal_lm(name, revision=config.model.revision,
                                    trust_remote_code=config.model.trust_remote_code, **kwargs)
        return model.to(inference_device()) if not quantised else model

    if weights is None:
        model = load(base_model, **quantization_kwargs(load_in))
    elif is_merged_model(weights):
        model = load(str(weights), **quantization_kwargs(load_in))
    else:
        # whichever method saved the folder loads it (a PEFT adapter, or a native method)
        model = load_tuned(lambda **kwargs: load(base_model, **kwargs), weights, load_in)
        if merge and load_in is None:
            model = _merged(model, weights)
    model.eval()
    return model


def _merged(model: Any, weights: Path) -> Any:
    """``model`` with the update ``weights`` holds folded into its base weights, where the
    method merges and its base is not quantised (QLoRA's 4-bit base would round it away);
    else ``model`` as it is."""
    name, options = saved_method(weights)
    if name == "peft-adapter":
        mergeable = hasattr(model, "merge_and_unload")
        method = None
    else:
        method = METHODS.get(name)()
        mergeable = method.mergeable and "quantization_config" not in method.load_kwargs(
            method.Options.model_validate(options))
    if not mergeable or _quantised(model):
        return model
    try:
        return method.merge(model) if method is not None else model.merge_and_unload()
    except (MergeNotSupportedError, ValueError, NotImplementedError):
        return model  # the method's layers cannot merge here: answer unmerged


def _quantised(model: Any) -> bool:
    return any(type(p).__name__ in ("Params4bit", "Int8Params") for p in model.parameters())


def load_predictor(
    config: RunConfig,
    run: RunLayout | Path | None,
    label: str = "tuned",
    *,
    base_model: str | None = None,
    weights: Path | None = None,
    merge: bool = True,
) -> Predictor:
    """The base (``label="base"``) or the trained model of a run, ready to generate.

    ``run`` gives the defaults: the base model its model stage resolved and ``train/adapter``
    (or ``train/<task>`` for encoder tasks). ``base_model`` and ``weights`` override them
    (``compare`` scores each method's own folder); ``eval.load_in`` quantises the causal LM;
    ``merge=False`` keeps the adapter apart whatever ``eval.merge_adapter`` says (export merges
    itself, and needs the adapter).
    """
    layout = RunLayout(run) if isinstance(run, Path) else run
    task = config.model.task
    device = inference_device()
    if task in ("extractive_qa", "answerability"):
        if label == BASE:
            model, tokenizer = load_encoder(config.model.name, task, config.seed)
        else:
            directory = weights or _layout(layout).task_dir(task)
            model, tokenizer, _ = load_trained_encoder(directory)
        model.to(device).eval()
        return Predictor(task, model, tokenizer, label)
    base = base_model or _layout(layout).base_model()
    head = None
    if label == BASE:
        model = load_causal_model(config, base, None, config.eval.load_in)
    else:
        weights = weights or _layout(layout).adapter
        if not weights.exists():
            raise TunesmithError(f"{weights}: no trained model; run training first")
        model = load_causal_model(config, base, weights, config.eval.load_in,
                                  merge=merge and config.eval.merge_adapter)
        head = load_head(weights.parent)  # the multitask head is saved beside the adapter
    tokenizer_source = str(weights) if (label != BASE and weights is not None and
                                        is_merged_model(weights) and
                                        (weights / "tokenizer_config.json").is_file()) else base
    tokenizer = load_tokenizer(tokenizer_source, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)
    return Predictor("causal_lm", model, tokenizer, label, head,
                     chosen_no_answer_threshold(config, layout, label))


def chosen_no_answer_threshold(config: RunConfig, layout: RunLayout | None,
                                label: str) -> float | None:
    """With ``guard.no_answer_threshold: auto``, the threshold the eval stage chose for
    ``label`` (``tunesmith.guard.no_answer``), if it ran."""
    if not is_auto(config.guard.no_answer_threshold) or layout is None:
        return None
    path = layout.no_answer_thresholds
    if not path.is_file():
        return None
    chosen = read_json(path).get(label)
    return float(chosen["threshold"]) if isinstance(chosen, dict) else None


def _layout(layout: RunLayout | None) -> RunLayout:
    if layout is None:
        raise ValueError("load_predictor: give the run (or base_model and weights)")
    return layout
