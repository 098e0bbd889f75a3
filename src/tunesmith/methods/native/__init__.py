"""Fine-tuning methods PEFT lacks, written natively: one module each, registered on import.

``tunesmith.methods`` imports every public module of this package (so each registers itself
in :data:`tunesmith.methods.base.METHODS`); importing this package alone does the same.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
