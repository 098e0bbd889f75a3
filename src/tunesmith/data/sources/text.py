"""Plain text and Markdown documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tunesmith.data.sources.base import (
    Document,
    ReadContext,
    SourceError,
    register_reader,
)
from tunesmith.data.sources.encoding import decode_text
from tunesmith.utils.text import markdown_to_text

__all__ = ["Document", "SourceError", "markdown_to_text", "read_documents"]


@register_reader("txt", (".txt", ".text"))
def read_txt(ctx: ReadContext) -> list[Document]:
    text = decode_text(ctx.raw, ctx.options.encoding)
    return [Document(ctx.doc_id, text, str(ctx.file), ctx.file.stem, ctx.sha256, "txt")]


@register_reader("md", (".md", ".markdown"))
def read_md(ctx: ReadContext) -> list[Document]:
    title, text = markdown_to_text(decode_text(ctx.raw, ctx.options.encoding))
    return [Document(ctx.doc_id, text, str(ctx.file), title or ctx.file.stem, ctx.sha256, "md")]


def read_documents(path: Path, kinds: Sequence[str] = ("md", "txt")) -> list[Document]:
    """Read one file, or every matching file under a folder, sorted by path.

    The strict form of :func:`tunesmith.data.sources.ingest.read_source`: a file that
    cannot be read raises :class:`SourceError` instead of being skipped.
    """
    from tunesmith.data.sources.ingest import read_path

    result = read_path(Path(path), kinds=kinds)
    if result.skipped:
        first = result.skipped[0]
        raise SourceError(f"{first.where()}: {first.reason}")
    return result.documents
