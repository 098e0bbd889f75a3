"""Document sources: each turns files into :class:`Document` objects with stable ids.

Readers (one per file kind) register in :data:`READERS`; :func:`read_path` walks a file or
folder through them and returns the documents and the skipped files. Importing this package
imports every module in it, which registers its readers: a new reader is one module with
``@register_reader("kind", (".suffix",))``, and ``data.sources[].kind`` takes it.
"""

import importlib
import pkgutil

from tunesmith.data.sources.base import READERS, Document, ReadOptions, Skip, SourceError
from tunesmith.data.sources.ingest import SourceResult, read_documents, read_path

for _module in pkgutil.iter_modules(__path__):  # in name order: html, jsonl, pdf, squad, text
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["READERS", "Document", "ReadOptions", "Skip", "SourceError", "SourceResult",
           "read_documents", "read_path"]
