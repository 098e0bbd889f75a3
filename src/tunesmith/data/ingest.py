"""The ingest stage: every ``data.sources`` entry read, PII redacted, provenance kept.

The folder walk and the readers are ``data/sources/``; redaction is ``data/quality/pii.py``.
This module puts them together for the build (and for ``decide``'s retrieval baselines, which
read the same documents).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord
from tunesmith.data.sources.base import Document, ReadOptions, Skip, SourceError
from tunesmith.data.sources.ingest import read_path


@dataclass
class Ingested:
    """What the ingest stage hands to the rest of the build.

    ``documents``: every document read (PII-redacted when ``data.pii.enabled``), with ids
    unique across sources. ``skipped``: the files or lines left out, each with its reason.
    ``pii``: redactions per entity type (empty when redaction is off).
    """

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    pii: dict[str, int] = field(default_factory=dict)


def ingest_sources(config: RunConfig) -> Ingested:
    """Read every ``data.sources`` entry; ids stay unique when two sources share a name."""
    ingested = Ingested()
    seen: set[str] = set()
    for source in config.data.sources:
        options = ReadOptions(source.text_field, source.id_field, source.title_field,
                              source.encoding)
        result = read_path(config.resolve(source.path), source.kinds, source.kind, options,
                           config.data.max_file_mb)
        for doc in result.documents:
            if doc.id in seen:  # same relative path from two sources: keep ids unique
                doc = replace(doc, id=f"{source.path}/{doc.id}")
            seen.add(doc.id)
            ingested.documents.append(doc)
        ingested.skipped.extend(result.skipped)
    if not ingested.documents:
        reasons = "; ".join(f"{s.where()}: {s.reason}" for s in ingested.skipped[:5])
        raise SourceError(f"no document could be read from data.sources "
                          f"({len(ingested.skipped)} skipped: {reasons})")
    if config.data.pii.enabled and ingested.documents:
        # deferred: importing it loads presidio_analyzer, spacy, torch
        from tunesmith.data.quality.pii import PIIRedactor

        redacted, counts = PIIRedactor(config.data.pii).redact_documents(ingested.documents)
        ingested.documents = redacted
        ingested.pii = dict(sorted(counts.items()))
    return ingested


def attach_provenance(records: Iterable[QARecord], documents: Sequence[Document]) -> None:
    """Copy each source document's provenance into the records made from it, in place:
    ``provenance["documents"]`` lists, per id in ``source_doc_ids``, the source path, reader
    kind, title, content hash and what the reader knew (a ticket's line, a SQuAD paragraph)."""
    by_id = {doc.id: doc.provenance for doc in documents}
    for record in records:
        found = [by_id[doc_id] for doc_id in record.source_doc_ids if doc_id in by_id]
        if found:
            record.provenance["documents"] = found
