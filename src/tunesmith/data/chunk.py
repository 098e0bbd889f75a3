"""Cut documents into contexts at paragraph boundaries, never mid-sentence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tunesmith.data.sources import Document
from tunesmith.utils.text import paragraphs

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Context:
    id: str
    doc_id: str
    index: int
    text: str


def split_sentences(text: str) -> list[str]:
    """A light sentence splitter: end punctuation followed by a capital or a digit."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(paragraph):
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: Document, max_chars: int = 700, min_chars: int = 80) -> list[Context]:
    """Paragraphs shorter than ``min_chars`` join the next; longer than ``max_chars`` split."""
    pieces: list[str] = []
    pending = ""
    for paragraph in paragraphs(doc.text):
        for piece in _split_long(paragraph, max_chars):
            candidate = f"{pending} {piece}".strip() if pending else piece
            if len(candidate) < min_chars:
                pending = candidate
                continue
            if pending and len(candidate) > max_chars:
                pieces.append(pending)
                candidate = piece
            pieces.append(candidate)
            pending = ""
    if pending:
        if pieces and len(pieces[-1]) + 1 + len(pending) <= max_chars:
            pieces[-1] = f"{pieces[-1]} {pending}"
        else:
            pieces.append(pending)
    return [
        Context(id=f"{doc.id}#{i}", doc_id=doc.id, index=i, text=text)
        for i, text in enumerate(pieces)
    ]


def chunk_documents(
    docs: Iterable[Document], max_chars: int = 700, min_chars: int = 80
) -> list[Context]:
    return [ctx for doc in docs for ctx in chunk_document(doc, max_chars, min_chars)]
