"""Dataset formats: importers of public QA datasets and exporters to training formats.

Each lives in its own module and registers itself in :data:`IMPORTERS` / :data:`EXPORTERS`.
Importing this package imports every module in it, as ``data.generate`` does: a new format is
one module.
"""

import importlib
import pkgutil

from tunesmith.data.formats.base import EXPORTERS, IMPORTERS, Exporter, Importer, ImportResult

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["EXPORTERS", "IMPORTERS", "Exporter", "ImportResult", "Importer"]
