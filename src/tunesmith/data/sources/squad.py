"""SQuAD 2.0 JSON as a document source: each paragraph's context is one document.

Used to build a dataset *from* SQuAD's paragraphs (not its questions). Ids are
``<title>/<paragraph index>`` so the same paragraph keeps its id in every run.
"""

from __future__ import annotations

import json
from typing import Any

from tunesmith.data.sources.base import Document, ReadContext, SkipFile, register_reader
from tunesmith.data.sources.encoding import decode_text


def load_squad_json(ctx: ReadContext) -> dict[str, Any]:
    """Parse and shape-check a SQuAD file; a problem names the line or the key."""
    try:
        data = json.loads(decode_text(ctx.raw, ctx.options.encoding))
    except json.JSONDecodeError as exc:
        raise SkipFile(f"not valid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SkipFile("not SQuAD JSON: expected an object with a 'data' list of articles")
    return data


@register_reader("squad", (".json",))
def read_squad_paragraphs(ctx: ReadContext) -> list[Document]:
    data = load_squad_json(ctx)
    documents = []
    for a, article in enumerate(data["data"]):
        title = str(article.get("title") or f"article-{a}")
        paragraphs = article.get("paragraphs")
        if not isinstance(paragraphs, list):
            raise SkipFile(f"key 'data[{a}].paragraphs': expected a list")
        for p, paragraph in enumerate(paragraphs):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise SkipFile(f"key 'data[{a}].paragraphs[{p}].context': expected text")
            documents.append(Document(
                id=f"{title}/{p}", text=context, path=str(ctx.file), title=title,
                sha256=ctx.sha256, kind="squad",
                meta={"squad_title": title, "paragraph": p},
            ))
    return documents
