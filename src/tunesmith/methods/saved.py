"""Load what training saved: the folder says which method wrote it, the method loads it.

The training workflow writes ``tunesmith_method.json`` ({name, options, version}) beside the
method's own files. A folder without it but with ``adapter_config.json`` is a plain PEFT
adapter (from an older tunesmith, or from elsewhere) and loads with ``PeftModel``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from tunesmith.compat.bitsandbytes import fit_cpu_packing
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import METHODS

METHOD_FILE = "tunesmith_method.json"

LoadIn = Literal["8bit", "4bit"] | None


def quantization_kwargs(load_in: LoadIn) -> dict[str, Any]:
    """``from_pretrained`` arguments for 8-bit (LLM.int8) or 4-bit (nf4) inference loading."""
    if load_in is None:
        return {}
    from transformers import BitsAndBytesConfig

    if load_in == "8bit":
        return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
    compute = (torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
               else torch.float32)
    return {"quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute)}


def saved_method(directory: Path) -> tuple[str, dict[str, Any]]:
    """(method name, options) of a saved folder."""
    record_path = directory / METHOD_FILE
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        return str(record["name"]), dict(record.get("options") or {})
    if (directory / "adapter_config.json").is_file():
        return "peft-adapter", {}
    raise TunesmithError(f"{directory}: no trained model here ({METHOD_FILE} or "
                         "adapter_config.json); run training first")


def load_tuned(load_base: Any, directory: Path, load_in: LoadIn = None) -> nn.Module:
    """The tuned model: ``load_base(**from_pretrained_kwargs)`` gives the base, the method
    that saved ``directory`` loads its part onto it. ``load_in`` quantises the base for
    inference; otherwise the method's own loading arguments apply (QLoRA's 4-bit base)."""
    name, raw_options = saved_method(directory)
    if name == "peft-adapter":
        from peft import PeftModel

        base = load_base(**quantization_kwargs(load_in))
        fit_cpu_packing(base)  # 4-bit layers narrower than bitsandbytes' CPU repacking takes
        return PeftModel.from_pretrained(base, str(directory))  # type: ignore[no-any-return]
    method = METHODS.get(name)()
    options = method.Options.model_validate(raw_options)
    kwargs = quantization_kwargs(load_in) if load_in else method.load_kwargs(options)
    base = load_base(**kwargs)
    fit_cpu_packing(base)
    return method.load(base, directory)
