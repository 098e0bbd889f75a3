"""Plain text and Markdown documents, from a file or a folder walk."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.utils.hashing import sha256_bytes

SUFFIXES = {"md": (".md", ".markdown"), "txt": (".txt",)}


class SourceError(ValueError):
    """A document source that cannot be read; the message names the path."""


@dataclass(frozen=True)
class Document:
    """One source document. ``id`` is stable: its path relative to the source root."""

    id: str
    text: str
    path: str
    title: str = ""
    sha256: str = field(default="", compare=False)


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


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_documents(path: Path, kinds: Sequence[str] = ("md", "txt")) -> list[Document]:
    """Read one file, or every matching file under a folder, sorted by path."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder (data.sources[].path)")
    suffixes = tuple(s for kind in kinds for s in SUFFIXES[kind])
    if path.is_file():
        files, root = [path], path.parent
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        root = path
        if not files:
            raise SourceError(f"{path}: no {', '.join(kinds)} files found")
    documents = []
    for file in files:
        text = _read_text(file)
        title = file.stem
        if file.suffix.lower() in SUFFIXES["md"]:
            title, text = markdown_to_text(text)
            title = title or file.stem
        documents.append(
            Document(
                id=file.relative_to(root).as_posix(),
                text=text,
                path=str(file),
                title=title,
                sha256=sha256_bytes(file.read_bytes()),
            )
        )
    return documents
