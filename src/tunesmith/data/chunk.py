"""Cut documents into contexts at paragraph boundaries, never mid-sentence unless a sentence
is itself longer than a context: then at the last space before ``max_chars`` (at ``max_chars``
when there is none), so that no context is ever longer than ``max_chars``."""

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


def _split_chars(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than ``max_chars`` (a file with no sentence breaks): cut by
    characters, at a space where one falls in the second half of the window."""
    pieces = []
    start, end = 0, len(sentence)
    while end - start > max_chars:  # indices, not slices of the rest: a 10 MB line is linear
        cut = sentence.rfind(" ", start + max_chars // 2, start + max_chars + 1)
        cut = cut if cut > start else start + max_chars
        pieces.append(sentence[start:cut].strip())
        start = cut
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p]


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    sentences = (part for sentence in split_sentences(paragraph)
                 for part in _split_chars(sentence, max_chars))
    for sentence in sentences:
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
