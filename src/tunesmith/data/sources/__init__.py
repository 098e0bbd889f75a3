"""Document sources: each turns files into :class:`Document` objects with stable ids.

Readers (one per file kind) register in :data:`READERS`; :func:`read_path` walks a file or
folder through them and returns the documents and the skipped files.
"""

from tunesmith.data.sources.base import READERS, Document, ReadOptions, Skip, SourceError
from tunesmith.data.sources.ingest import SourceResult, read_documents, read_path

__all__ = ["READERS", "Document", "ReadOptions", "Skip", "SourceError", "SourceResult",
           "read_documents", "read_path"]
