"""Dataset formats: importers of public QA datasets and exporters to training formats.

Each lives in its own module and registers itself in :data:`IMPORTERS` / :data:`EXPORTERS`.
"""

from tunesmith.data.formats import hotpotqa, jsonl, nq, squad  # noqa: F401  (registration)
from tunesmith.data.formats.base import EXPORTERS, IMPORTERS, Exporter, Importer, ImportResult

__all__ = ["EXPORTERS", "IMPORTERS", "Exporter", "ImportResult", "Importer"]
