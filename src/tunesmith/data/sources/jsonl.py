"""Support tickets (or any records) in JSON Lines: one document per line.

The text comes from ``text_field`` (a dotted path such as ``message.body`` reaches into
nested objects), the id from ``id_field`` (else the line number) and the title from
``title_field``. A malformed line is skipped with its line number; the other lines are kept.
"""

from __future__ import annotations

import json
from typing import Any

from tunesmith.data.sources.base import Document, ReadContext, register_reader
from tunesmith.data.sources.encoding import decode_text

_MISSING = object()


def field_value(row: dict[str, Any], dotted: str) -> Any:
    """``row["a"]["b"]`` for ``"a.b"``; a missing key gives the ``_MISSING`` sentinel."""
    value: Any = row
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


@register_reader("jsonl", (".jsonl", ".ndjson"))
def read_jsonl(ctx: ReadContext) -> list[Document]:
    opts = ctx.options
    documents: list[Document] = []
    seen: set[str] = set()
    lines = decode_text(ctx.raw, opts.encoding).splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            ctx.skip_line(number, f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            ctx.skip_line(number, "expected a JSON object per line")
            continue
        text = field_value(row, opts.text_field)
        if text is _MISSING:
            keys = ", ".join(sorted(row)) or "none"
            ctx.skip_line(number, f"no key '{opts.text_field}' (data.sources[].text_field); "
                                  f"the line has: {keys}")
            continue
        if not isinstance(text, str) or not text.strip():
            ctx.skip_line(number, f"key '{opts.text_field}': expected non-empty text")
            continue
        ident = field_value(row, opts.id_field) if opts.id_field else _MISSING
        if opts.id_field and ident is _MISSING:
            ctx.skip_line(number, f"no key '{opts.id_field}' (data.sources[].id_field)")
            continue
        suffix = str(ident) if ident is not _MISSING else f"L{number}"
        doc_id = f"{ctx.doc_id}#{suffix}"
        if doc_id in seen:
            ctx.skip_line(number, f"duplicate id '{suffix}' (key '{opts.id_field}')")
            continue
        seen.add(doc_id)
        title = field_value(row, opts.title_field) if opts.title_field else _MISSING
        documents.append(Document(
            id=doc_id, text=text, path=str(ctx.file),
            title=str(title) if title is not _MISSING else suffix,
            sha256=ctx.sha256, kind="jsonl", meta={"line": number, "record_id": suffix},
        ))
    return documents  # no documents and no line skips: the walk reports "no text found"
