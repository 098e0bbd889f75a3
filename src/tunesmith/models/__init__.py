"""Models: load any Hugging Face causal LM by name or path; build the offline ``tiny`` one;
convert a GGUF file (or a built-in GGUF name, ``builtin``) once into a cached folder.

``chat`` and ``builtin`` import nothing heavy; ``loading``, ``gguf`` and ``tiny`` import torch and
transformers, so they are loaded on first use (PEP 562) and ``import tunesmith.models`` stays
cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tunesmith.models.chat import (
    CHAT_TEMPLATE,
    build_messages,
    ensure_chat_template,
    format_user_message,
)

if TYPE_CHECKING:
    from tunesmith.models.builtin import BUILTIN_MODELS, GGUFError, gguf_source
    from tunesmith.models.gguf import convert_gguf, describe_gguf, gguf_manifest
    from tunesmith.models.loading import (
        ModelLoadError,
        load_causal_lm,
        load_tokenizer,
        resolve_base_model,
    )
    from tunesmith.models.tiny import (
        build_llama,
        build_tiny_model,
        default_cache_root,
        pretrain,
        train_tokenizer,
    )

_LAZY = {
    "BUILTIN_MODELS": "builtin",
    "GGUFError": "builtin",
    "gguf_source": "builtin",
    "convert_gguf": "gguf",
    "describe_gguf": "gguf",
    "gguf_manifest": "gguf",
    "ModelLoadError": "loading",
    "load_causal_lm": "loading",
    "load_tokenizer": "loading",
    "resolve_base_model": "loading",
    "build_llama": "tiny",
    "build_tiny_model": "tiny",
    "default_cache_root": "tiny",
    "pretrain": "tiny",
    "train_tokenizer": "tiny",
}

__all__ = [
    "BUILTIN_MODELS",
    "CHAT_TEMPLATE",
    "GGUFError",
    "ModelLoadError",
    "build_llama",
    "build_messages",
    "build_tiny_model",
    "convert_gguf",
    "default_cache_root",
    "describe_gguf",
    "ensure_chat_template",
    "format_user_message",
    "gguf_manifest",
    "gguf_source",
    "load_causal_lm",
    "load_tokenizer",
    "pretrain",
    "resolve_base_model",
    "train_tokenizer",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"tunesmith.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tunesmith.models' has no attribute {name!r}")
