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
from tunesmith.data.schema import QARecord
from tunesmith.data.sources.base import Skip
from tunesmith.registry import Registry


@dataclass
class ImportResult:
    records: list[QARecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


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


def exporter(name: str, description: str) -> Callable[
        [Callable[[Sequence[QARecord], Path, GuardConfig], int]],
        Callable[[Sequence[QARecord], Path, GuardConfig], int]]:
    """Decorator: register ``write`` as the exporter ``name``."""

    def add(write: Callable[[Sequence[QARecord], Path, GuardConfig], int]
            ) -> Callable[[Sequence[QARecord], Path, GuardConfig], int]:
        EXPORTERS.register(name)(Exporter(name, description, write))
        return write

    return add
