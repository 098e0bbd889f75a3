"""Is the base model there? Checked at ``validate`` and at the model stage, not at training.

A name is one of: a built-in (``tiny``, a GGUF in a package: ``models.builtin`` checks those),
a local folder, or a Hub name. A local folder must hold a ``config.json``; a Hub name must be a
valid repository id and, when the Hub is offline (``HF_HUB_OFFLINE``), already be in the local
Hugging Face cache. Nothing here reaches the network: online, a Hub name missing from the cache
is left for ``from_pretrained`` to download at the train stage.

This module imports nothing heavy (no torch, no transformers), so ``validate`` stays quick.
"""

from __future__ import annotations

import os
from pathlib import Path

from tunesmith.config.model import ModelConfig
from tunesmith.errors import TunesmithError
from tunesmith.models.builtin import MINILM_NAMES, is_gguf_name


class ModelNotFoundError(TunesmithError):
    """``model.name`` names no model that can be loaded from here."""


def looks_like_path(name: str) -> bool:
    """A name the user meant as a folder, not a Hub id (``org/model``)."""
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def hub_offline() -> bool:
    """Hugging Face offline mode, read now (``huggingface_hub`` reads it once, at import)."""
    import huggingface_hub.constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return flag in {"1", "true", "yes", "on"} or bool(huggingface_hub.constants.HF_HUB_OFFLINE)


def _valid_repo_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def in_hf_cache(name: str, revision: str | None = None) -> bool:
    """``name``'s config.json is in the local Hugging Face cache (no request is made)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(name, "config.json", revision=revision)
    return isinstance(found, str)


def check_base_model(model: ModelConfig) -> None:
    """Raise :class:`ModelNotFoundError` for a ``model.name`` that cannot be loaded from here
    (see the module docstring); built-ins and GGUF names pass (``gguf_source`` checks them)."""
    name = model.name
    if model.is_tiny or is_gguf_name(name) or (model.task != "causal_lm"
                                               and name in MINILM_NAMES):
        return
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise ModelNotFoundError(f"model.name {name!r}: {local} is not a Hugging Face model "
                                     "folder (no config.json in it)")
        return
    if looks_like_path(name) or not _valid_repo_id(name):
        raise ModelNotFoundError(f"model.name {name!r}: no such folder ({local.resolve()}), and "
                                 "not a Hub name (org/model)")
    if hub_offline() and not in_hf_cache(name, model.revision):
        revision = f" at revision {model.revision!r}" if model.revision else ""
        raise ModelNotFoundError(
            f"model.name {name!r}: not in the local Hugging Face cache{revision}, and the Hub "
            "is offline (HF_HUB_OFFLINE); download it on a machine with a network "
            "(huggingface-cli download), give a local folder, or use 'tiny'")
