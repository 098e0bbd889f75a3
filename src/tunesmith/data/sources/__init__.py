"""Document sources: each turns files into :class:`Document` objects with stable ids."""

from tunesmith.data.sources.text import Document, read_documents

__all__ = ["Document", "read_documents"]
