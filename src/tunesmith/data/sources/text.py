"""Plain text and Markdown documents."""

from __future__ import annotations

from tunesmith.data.sources.base import (
    Document,
    ReadContext,
    SourceError,
    register_reader,
)
from tunesmith.data.sources.encoding import decode_text
from tunesmith.utils.text import markdown_to_text

__all__ = ["Document", "SourceError", "markdown_to_text"]


@register_reader("txt", (".txt", ".text"))
def read_txt(ctx: ReadContext) -> list[Document]:
    text = decode_text(ctx.raw, ctx.options.encoding)
    return [Document(ctx.doc_id, text, str(ctx.file), ctx.file.stem, ctx.sha256, "txt")]


@register_reader("md", (".md", ".markdown"))
def read_md(ctx: ReadContext) -> list[Document]:
    title, text = markdown_to_text(decode_text(ctx.raw, ctx.options.encoding))
    return [Document(ctx.doc_id, text, str(ctx.file), title or ctx.file.stem, ctx.sha256, "md")]

