"""Every fine-tuning method, registered once by name in :data:`METHODS`.

Importing this package registers the methods PEFT provides (``peft_methods``) and every module
of ``methods/native/`` (the ones PEFT lacks): a new native method joins by adding its file.
"""

from __future__ import annotations

import importlib
import pkgutil

from tunesmith.methods import peft_methods, peft_prompts
from tunesmith.methods.base import METHODS, MergeNotSupportedError, NoOptions, TuningMethod


def _register_native() -> None:
    try:
        native = importlib.import_module("tunesmith.methods.native")
    except ModuleNotFoundError as error:
        if error.name != "tunesmith.methods.native":
            raise
        return
    for module in pkgutil.iter_modules(native.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"tunesmith.methods.native.{module.name}")


_register_native()

__all__ = ["METHODS", "MergeNotSupportedError", "NoOptions", "TuningMethod", "peft_methods",
           "peft_prompts"]
