"""Plain text and Markdown documents."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from tunesmith.data.sources.base import (
    Document,
    ReadContext,
    SourceError,
    register_reader,
)
from tunesmith.data.sources.encoding import decode_text

__all__ = ["Document", "SourceError", "markdown_to_text", "read_documents"]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_INLINE = re.compile(r"(`+|\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def markdown_to_text(text: str) -> tuple[str, str]:
    """Strip Markdown markup that would leak into answers; returns (title, text).

    Headings become their own paragraphs (so a chunker can drop them), list bullets and
    inline code/emphasis markers go, link text stays.
    """
    title = ""
    lines: list[str] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            title = title or heading.group(1).strip()
            lines.extend(["", f"# {heading.group(1).strip()}", ""])
            continue
        line = _BULLET.sub("", line)
        line = _LINK.sub(r"\1", line)
        lines.append(_INLINE.sub("", line))
    return title, "\n".join(lines)


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
