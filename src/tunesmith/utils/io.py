"""Atomic writes: an interrupted run never leaves a half-written artifact behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tunesmith.errors import TunesmithError


class DataFileError(TunesmithError, ValueError):
    """A data file a user gave us is malformed; the message names the file and line."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_jsonl_atomic(path: Path, rows: Iterable[Any]) -> int:
    """Write one JSON object per line; returns the number of rows."""
    count = 0
    with atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def enumerate_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSON Lines file; a bad line
    raises :class:`DataFileError` naming the file and line."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataFileError(f"{path}:{number}: expected a JSON object per line")
            yield number, row


def read_json(path: Path) -> Any:
    """Read a JSON file; a malformed one raises :class:`DataFileError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def publish_folder(tmp: Path, target: Path, is_complete: Callable[[Path], bool]) -> None:
    """Move the finished folder ``tmp`` to ``target`` in one rename (write its marker last).

    A ``target`` that is not complete (an interrupted or older build) is replaced; when a
    concurrent build published a complete one first, that one stays and ``tmp`` is left for
    the caller to remove.
    """
    if target.exists() and not is_complete(target):
        shutil.rmtree(target)
    try:
        os.replace(tmp, target)
    except OSError:
        if not is_complete(target):  # not a concurrent build that finished first
            raise
