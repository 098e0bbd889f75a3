"""What every document source produces: :class:`Document` objects with stable ids and
provenance, and :class:`Skip` entries for the files (or lines) that could not be read.

A bad file never stops a build: a reader raises :class:`SkipFile` with a reason, the walk
records a :class:`Skip` and goes on; the build lists the skips in the report and in
``rejected.jsonl`` (stage ``ingest``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.registry import Registry


class SourceError(TunesmithError, ValueError):
    """A document source that cannot be read at all (a missing path, an empty folder)."""


class SkipFile(Exception):
    """Raised by a reader for one file it cannot read; the walk records it and goes on."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Document:
    """One source document.

    ``id`` is stable across runs and machines: the path relative to the source root, plus a
    suffix for documents that share a file (``tickets.jsonl#T-17``, ``Normans/3``).
    ``kind`` names the reader; ``meta`` holds what the reader knows beyond the text (a
    ticket's line, a SQuAD paragraph's title and index).
    """

    id: str
    text: str
    path: str
    title: str = ""
    sha256: str = field(default="", compare=False)
    kind: str = "txt"
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def provenance(self) -> dict[str, Any]:
        """What a record made from this document copies into its ``provenance``."""
        return {"doc_id": self.id, "source": self.path, "source_kind": self.kind,
                "title": self.title, "sha256": self.sha256, **dict(self.meta)}


@dataclass(frozen=True)
class Skip:
    """A file, or one line of it, left out of the build, and why."""

    path: str
    reason: str
    line: int | None = None

    def where(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"stage": "ingest", "path": self.path, "line": self.line, "reason": self.reason}


@dataclass
class ReadOptions:
    """Per-source reader settings (from ``data.sources[]``)."""

    text_field: str = "text"
    id_field: str | None = None
    title_field: str | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class ReadContext:
    """One file as a reader sees it: its bytes, its stable id stem and the options."""

    file: Path
    doc_id: str
    raw: bytes
    sha256: str
    options: ReadOptions
    skips: list[Skip]  # a reader may record line-level skips and still return documents

    def skip_line(self, line: int, reason: str) -> None:
        self.skips.append(Skip(str(self.file), reason, line))


@dataclass(frozen=True)
class Reader:
    """A document reader: the file suffixes it claims and the function that reads one file."""

    kind: str
    suffixes: tuple[str, ...]
    read: Callable[[ReadContext], list[Document]]
    binary: bool = False  # True: the format is binary (PDF); no NUL-byte check


READERS: Registry[Reader] = Registry("document reader")


def register_reader(kind: str, suffixes: tuple[str, ...], binary: bool = False
                    ) -> Callable[[Callable[[ReadContext], list[Document]]],
                                  Callable[[ReadContext], list[Document]]]:
    """Decorator: register ``read`` as the reader of ``kind`` files."""

    def add(read: Callable[[ReadContext], list[Document]]
            ) -> Callable[[ReadContext], list[Document]]:
        READERS.register(kind)(Reader(kind, suffixes, read, binary))
        return read

    return add


def kind_for_suffix(path: Path) -> str | None:
    """The reader kind that claims this file's suffix (``None``: no reader does)."""
    suffix = path.suffix.lower()
    for kind in READERS:
        if suffix in READERS.get(kind).suffixes:
            return kind
    return None
