"""PDF documents through pypdf: the text layer of every page, pages as paragraphs.

A PDF without a text layer (a scan) is skipped with a reason; OCR is out of scope.
"""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from tunesmith.data.sources.base import Document, ReadContext, SkipFile, register_reader

_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")


def pdf_to_text(raw: bytes) -> tuple[str, str]:
    """(title, text) of a PDF; raises :class:`SkipFile` for an unreadable one."""
    # pypdf logs what it repairs ("EOF marker not found"); a broken file becomes one skip
    # with one reason instead
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _pdf_to_text(raw)
    finally:
        logger.setLevel(level)


def _pdf_to_text(raw: bytes) -> tuple[str, str]:
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("encrypted PDF (a password is needed)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else ""
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkipFile(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    # a line break inside a paragraph is layout, not structure: join lines, keep blank lines
    paragraphs = []
    for page in pages:
        page = _HYPHEN_BREAK.sub(r"\1\2", page)
        for block in re.split(r"\n\s*\n", page):
            line = " ".join(block.split())
            if line:
                paragraphs.append(line)
    if not paragraphs:
        raise SkipFile("PDF has no text layer (a scan? OCR it first)")
    return title, "\n\n".join(paragraphs)


@register_reader("pdf", (".pdf",), binary=True)
def read_pdf(ctx: ReadContext) -> list[Document]:
    title, text = pdf_to_text(ctx.raw)
    return [Document(ctx.doc_id, text, str(ctx.file), title or ctx.file.stem, ctx.sha256,
                     "pdf")]
