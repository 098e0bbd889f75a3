"""Load any Hugging Face causal LM and its tokenizer by Hub name or local path.

Every stage goes through these two functions, so a Hub model, a local folder and the built-in
``tiny`` model (which is a local folder once built) behave the same way. tunesmith runs offline:
a model that is neither a local folder nor in the local Hugging Face cache is a clear error,
not a stack trace from deep inside ``huggingface_hub``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from tunesmith.config.model import ModelConfig
from tunesmith.errors import TunesmithError
from tunesmith.models.availability import check_base_model, hub_offline, looks_like_path
from tunesmith.models.chat import ensure_chat_template
from tunesmith.models.gguf import resolve_gguf_model
from tunesmith.models.tiny import build_tiny_model, default_cache_root


class ModelLoadError(TunesmithError):
    """A model or tokenizer could not be found or loaded."""


def _source(name_or_path: str) -> tuple[str, bool]:
    """The string to hand to ``from_pretrained`` and whether to stay off the network.

    A local folder never asks the Hub. A Hub name is looked up in the local cache only in
    offline mode; without it, a machine with no network would spend minutes in retries.
    """
    local = Path(name_or_path).expanduser()
    if local.exists():
        return str(local), True
    if looks_like_path(name_or_path):
        raise ModelLoadError(f"model {name_or_path!r}: no such folder ({local.resolve()})")
    return name_or_path, hub_offline()


def _not_found(name_or_path: str, error: Exception) -> ModelLoadError:
    return ModelLoadError(
        f"could not load {name_or_path!r}: {error}\n"
        "tunesmith runs offline: a Hub model must already be in the local Hugging Face cache "
        "(HF_HOME; set HF_HUB_OFFLINE=1 on machines without a network), or be given as a "
        "local folder path; 'tiny' builds the built-in model."
    )


def load_causal_lm(
    name_or_path: str,
    *,
    dtype: torch.dtype | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
    **extra: Any,
) -> PreTrainedModel:
    """``AutoModelForCausalLM.from_pretrained`` with tunesmith's offline rules and errors.

    ``dtype=None`` keeps the checkpoint's own dtype (transformers' ``"auto"``); ``extra`` goes
    to ``from_pretrained`` as is (a method's ``quantization_config``, for example).
    """
    source, local_only = _source(name_or_path)
    kwargs: dict[str, Any] = {
        "revision": revision,
        "trust_remote_code": trust_remote_code,
        "local_files_only": local_only,
        "use_safetensors": True,  # weights never through pickle (a .bin-only model is refused)
    }
    if local_only:
        # transformers 5 looks for a PEFT adapter_config.json without passing local_files_only
        # on; without this, an offline miss spends ~90 s in HTTP retries before failing.
        kwargs["adapter_kwargs"] = {"local_files_only": True}
    if dtype is not None:
        kwargs["dtype"] = dtype
    kwargs.update(extra)
    try:
        model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as error:  # HF raises OSError; bad repo ids a ValueError
        raise _not_found(name_or_path, error) from error
    return model


def load_tokenizer(
    name_or_path: str,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
) -> Any:
    """``AutoTokenizer.from_pretrained``, made ready for batched chat training and generation.

    A tokenizer without a pad token pads with eos (the usual choice for causal LMs; the
    attention mask hides the padding), and one without a chat template gets tunesmith's.
    """
    source, local_only = _source(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source,
            revision=revision,
            trust_remote_code=trust_remote_code,
            local_files_only=local_only,
        )
    except (OSError, ValueError) as error:
        raise _not_found(name_or_path, error) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return ensure_chat_template(tokenizer)


def resolve_base_model(model_cfg: ModelConfig, texts: Sequence[str], seed: int) -> str:
    """The name or path to load: ``tiny`` is built (or found in the cache) from ``texts``; a
    built-in GGUF name or a ``.gguf`` file is converted once into a cached folder (models.gguf).
    """
    if not model_cfg.is_tiny:
        converted = resolve_gguf_model(model_cfg)
        if converted is None:
            check_base_model(model_cfg)  # a missing model fails here, not at the train stage
        return model_cfg.name if converted is None else str(converted)

    path = build_tiny_model(
        texts, model_cfg.tiny, seed=seed, cache_root=default_cache_root(model_cfg)
    )
    return str(path)
