"""The folder walk: every file a source names, through the reader its kind selects.

A file that cannot be read (malformed, not text, empty, too large) becomes a :class:`Skip`
with the path, the line where one is known, and the reason; the rest goes on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.data.sources.base import (
    READERS,
    Document,
    ReadContext,
    ReadOptions,
    Skip,
    SkipFile,
    SourceError,
    kind_for_suffix,
)
from tunesmith.utils.hashing import sha256_bytes

DEFAULT_KINDS = ("md", "txt", "html", "pdf")


@dataclass
class SourceResult:
    """The documents read from one or more sources and the files (or lines) skipped."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def extend(self, other: SourceResult) -> None:
        self.documents.extend(other.documents)
        self.skipped.extend(other.skipped)


def _files(path: Path, kinds: Sequence[str]) -> tuple[list[tuple[Path, str]], list[Skip]]:
    """The files of the folder a reader in ``kinds`` claims, and every other file with the
    reason it is left out (hidden files and folders, .git or .DS_Store, are passed over
    without a word: they are never documents)."""
    claimed = {s: k for k in kinds for s in READERS.get(k).suffixes}
    found: list[tuple[Path, str]] = []
    skipped: list[Skip] = []
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts) or file.is_dir():
            continue
        if file.is_symlink() and not file.exists():
            skipped.append(Skip(str(file), f"dangling symlink (to {os.readlink(file)})"))
            continue
        if not file.is_file():
            skipped.append(Skip(str(file), "not a regular file"))
            continue
        suffix = file.suffix.lower()
        kind = claimed.get(suffix)
        if kind:
            found.append((file, kind))
        elif not suffix:
            skipped.append(Skip(str(file), "no file extension, so no reader (rename it, or "
                                           "name the file with data.sources[].kind)"))
        else:
            other = kind_for_suffix(file)
            skipped.append(Skip(str(file), f"'{suffix}' files are not read from this folder ("
                                f"data.sources[].kinds is {', '.join(kinds)}"
                                + (f"; add '{other}'" if other else "") + ")"))
    return found, skipped


def read_file(file: Path, kind: str, doc_id: str, options: ReadOptions,
              max_file_mb: float | None = None) -> SourceResult:
    """Read one file with the ``kind`` reader; any problem becomes a skip, not an error."""
    result = SourceResult()
    reader = READERS.get(kind)
    try:
        size = file.stat().st_size
        if max_file_mb is not None and size > max_file_mb * 1024 * 1024:
            raise SkipFile(f"file is {size / 1024 / 1024:.1f} MB, over data.max_file_mb = "
                           f"{max_file_mb:g}")
        raw = file.read_bytes()
        if not raw.strip():
            raise SkipFile("empty file")
        ctx = ReadContext(file, doc_id, raw, sha256_bytes(raw), options, result.skipped)
        documents = reader.read(ctx)
        kept = [d for d in documents if d.text.strip()]
        if not kept and not result.skipped:
            raise SkipFile(f"no text found in this {kind} file")
        result.documents.extend(kept)
    except SkipFile as skip:
        result.skipped.append(Skip(str(file), skip.reason, skip.line))
    except OSError as exc:
        result.skipped.append(Skip(str(file), f"cannot read: {exc.strerror or exc}"))
    return result


def read_path(path: Path, kinds: Sequence[str] = DEFAULT_KINDS, kind: str = "auto",
              options: ReadOptions | None = None, max_file_mb: float | None = None
              ) -> SourceResult:
    """Read one file (its ``kind``, or the one its suffix selects) or walk a folder."""
    path = Path(os.path.normpath(path))  # provenance says .../shared/x, not .../a/../../x
    options = options or ReadOptions()
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder (data.sources[].path)")
    if path.is_file():
        chosen = kind if kind != "auto" else kind_for_suffix(path)
        if chosen is None:
            raise SourceError(
                f"{path}: no reader for '{path.suffix}' files; set data.sources[].kind to one "
                f"of {', '.join(READERS.names())}")
        return read_file(path, chosen, path.name, options, max_file_mb)
    chosen_kinds = [kind] if kind != "auto" else list(kinds)
    files, passed_over = _files(path, chosen_kinds)
    if not files:
        reasons = "".join(f"; {s.where()}: {s.reason}" for s in passed_over[:3])
        raise SourceError(f"{path}: no {', '.join(chosen_kinds)} files found{reasons}")
    result = SourceResult(skipped=passed_over)
    for file, file_kind in files:
        result.extend(read_file(file, file_kind, file.relative_to(path).as_posix(), options,
                                max_file_mb))
    return result


def read_documents(path: Path, kinds: Sequence[str] = ("md", "txt")) -> list[Document]:
    """Read one file, or every matching file under a folder, sorted by path.

    The strict form of :func:`read_path`: a file that cannot be read raises
    :class:`SourceError` instead of being skipped.
    """
    result = read_path(Path(path), kinds=kinds)
    if result.skipped:
        first = result.skipped[0]
        raise SourceError(f"{first.where()}: {first.reason}")
    return result.documents

