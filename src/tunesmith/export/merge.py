"""The trained update folded into the base weights: one plain model, no adapter to carry.

The method that saved ``train/adapter`` merges it (``TuningMethod.merge``; PEFT's
``merge_and_unload`` for the PEFT methods), so a method that cannot merge (soft prompts, prefix
tuning, Houlsby adapters, ...) refuses with its own reason, and so does a quantised base:
merging into 4-bit or 8-bit weights would round the update away (QLoRA's adapter is merged by
training it as LoRA on a 16/32-bit base instead).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.inference import load_predictor
from tunesmith.methods import METHODS
from tunesmith.methods.base import MergeNotSupportedError
from tunesmith.methods.saved import saved_method
from tunesmith.utils.layout import RunLayout

EXPORT_MARKER = "tunesmith_export.json"


class ExportError(TunesmithError):
    """A model that cannot be exported as asked; the message says why and what to do."""


@dataclass
class MergedModel:
    """The merged model in memory (fp32, on the CPU) and what the card says about it."""

    model: Any
    tokenizer: Any
    base_model: str  # the folder or name the model stage resolved
    method: str
    options: dict[str, Any]
    has_multitask_head: bool = False
    notes: list[str] = field(default_factory=list)


def _refuse_quantised_base(base: str) -> None:
    config_file = Path(base) / "config.json"
    if not config_file.is_file():
        return
    quantization = json.loads(config_file.read_text(encoding="utf-8")).get("quantization_config")
    if quantization:
        method = quantization.get("quant_method", "quantised")
        raise ExportError(f"{base}: the base model is stored quantised ({method}); merging "
                          "into quantised weights would round the update away. Train on a "
                          "16/32-bit copy of the base to export a merged model")


def merge_tuned(config: RunConfig, run: RunLayout | None = None) -> MergedModel:
    """The run's tuned causal LM with its update merged in; ExportError where it cannot be."""
    layout = run or RunLayout.of(config)
    if config.model.task != "causal_lm":
        raise ExportError(f"export writes causal LMs; this run's model.task is "
                          f"{config.model.task!r}")
    if not layout.adapter.exists():
        raise ExportError(f"{layout.adapter}: no trained model; run training first "
                          "(`tunesmith train CONFIG`)")
    name, options = saved_method(layout.adapter)
    base = layout.base_model()
    _refuse_quantised_base(base)
    method = None
    if name != "peft-adapter":
        method = METHODS.get(name)()
        parsed = method.Options.model_validate(options)
        if not method.mergeable:
            try:
                method.merge(torch.nn.Module())  # its own reason, before any model loads
            except MergeNotSupportedError as exc:
                raise ExportError(f"method {name!r} cannot be merged: {exc}") from None
        if "quantization_config" in method.load_kwargs(parsed):
            raise ExportError(f"method {name!r} trains on a quantised base, which cannot take "
                              "a merged update; train with 'lora' on a 16/32-bit base to export")
    # full precision, whatever eval.load_in says: the merge must not round the update
    unquantised = config.model_copy(deep=True)
    unquantised.eval.load_in = None
    predictor = load_predictor(unquantised, layout, "tuned", merge=False)
    try:
        merged = (method.merge(predictor.model) if method is not None
                  else predictor.model.merge_and_unload())
    except MergeNotSupportedError as exc:
        raise ExportError(f"method {name!r} cannot be merged: {exc}") from None
    merged = merged.to("cpu").float().eval()
    if getattr(merged, "peft_config", None):
        raise ExportError(f"method {name!r} left adapter layers after merging; nothing exported")
    out = MergedModel(merged, predictor.tokenizer, base, name, options,
                      has_multitask_head=predictor.head is not None)
    if out.has_multitask_head:
        out.notes.append("the multitask answerability head (train/answerability_head."
                         "safetensors) is not part of the merged weights")
    return out


def publish(tmp: Path, target: Path) -> None:
    """Put the finished ``tmp`` (file or folder) at ``target`` by rename; an older export there
    is moved aside first and removed after, so ``target`` is never half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_merged(merged: MergedModel, folder: Path) -> None:
    """``save_pretrained`` of the model (safetensors, generation config) and its tokenizer."""
    merged.model.save_pretrained(folder)
    merged.tokenizer.save_pretrained(folder)
