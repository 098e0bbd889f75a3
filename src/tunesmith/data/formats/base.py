"""The registries of dataset importers (public formats -> QA records) and exporters (QA
records -> training and interchange formats).

An importer reads one file and returns the records plus the entries it had to skip (each with
the file, line or key, and the reason); an exporter writes records to one file atomically and
returns how many rows (or questions) it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.config.guard import GuardConfig
from tunesmith.data.schema import QARecord, unique_ids
from tunesmith.data.sources.base import Skip
from tunesmith.registry import Registry
from tunesmith.utils.io import DataFileError


@dataclass
class ImportResult:
    """The records read, the entries left out (``skipped``) and the ones kept but changed or
    worth a look (``notes``: a repaired ``answer_start``, a renamed duplicate id)."""

    records: list[QARecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[Skip] = field(default_factory=list)


@dataclass(frozen=True)
class Importer:
    name: str
    description: str
    read: Callable[[Path], ImportResult]


@dataclass(frozen=True)
class Exporter:
    name: str
    description: str
    write: Callable[[Sequence[QARecord], Path, GuardConfig], int]


IMPORTERS: Registry[Importer] = Registry("dataset importer")
EXPORTERS: Registry[Exporter] = Registry("dataset exporter")


def importer(name: str, description: str) -> Callable[[Callable[[Path], ImportResult]],
                                                      Callable[[Path], ImportResult]]:
    """Decorator: register ``read`` as the importer ``name``."""

    def add(read: Callable[[Path], ImportResult]) -> Callable[[Path], ImportResult]:
        IMPORTERS.register(name)(Importer(name, description, read))
        return read

    return add


def import_dataset(fmt: str, src: Path) -> ImportResult:
    """Read ``src`` with the ``fmt`` importer, ids made unique (a note per renamed one).

    A file that yields no record is an error that gives the reason of the first skip (the
    wrong importer, or every answer unusable): nothing is written from it.
    """
    src = Path(src).expanduser()
    if not src.exists():
        raise DataFileError(f"{src}: no such file")
    if src.is_dir():
        raise DataFileError(f"{src}: is a folder; give the dataset file")
    importer_ = IMPORTERS.get(fmt)
    try:
        result = importer_.read(src)
    except OSError as exc:  # unreadable, or a .gz that is not gzip
        raise DataFileError(f"{src}: cannot read as {fmt} ({exc.strerror or exc})") from None
    if not result.records:
        if result.skipped:
            first = result.skipped[0]
            raise DataFileError(f"{src}: no record imported as {fmt}: {len(result.skipped)} "
                                f"entries skipped (first, {first.where()}: {first.reason}); "
                                f"is it a {fmt} file?")
        raise DataFileError(f"{src}: no record imported as {fmt}: the file holds no "
                            "questions")
    result.records, renamed = unique_ids(result.records)
    result.notes += [Skip(str(src), note) for note in renamed]
    return result


def exporter(name: str, description: str) -> Callable[
        [Callable[[Sequence[QARecord], Path, GuardConfig], int]],
        Callable[[Sequence[QARecord], Path, GuardConfig], int]]:
    """Decorator: register ``write`` as the exporter ``name``."""

    def add(write: Callable[[Sequence[QARecord], Path, GuardConfig], int]
            ) -> Callable[[Sequence[QARecord], Path, GuardConfig], int]:
        EXPORTERS.register(name)(Exporter(name, description, write))
        return write

    return add
