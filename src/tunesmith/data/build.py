"""The minimal data workflow: ingest -> chunk -> generate -> split by document -> mismatch
negatives -> JSONL. Read top to bottom; the dataset-factory issue adds stages between these."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig
from tunesmith.data.augment import swap_answers
from tunesmith.data.chunk import Context, chunk_documents
from tunesmith.data.generate import generate_questions, make_generator
from tunesmith.data.schema import QARecord, write_records
from tunesmith.data.sources import Document, Skip
from tunesmith.data.sources.ingest import Ingested, ingest_sources
from tunesmith.data.split import SPLITS, split_documents
from tunesmith.data.unanswerable import Rejection, count_for_fraction, make_unanswerable
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic

Progress = Callable[[str], None]


@dataclass
class BuiltDataset:
    splits: dict[str, list[QARecord]]
    documents: list[Document]
    doc_splits: dict[str, list[str]]
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # ingest: files/lines not read
    pii: dict[str, int] = field(default_factory=dict)  # redactions per entity type


def load_documents(config: RunConfig) -> Ingested:
    """Ingest every source (see :mod:`tunesmith.data.sources.ingest`).

    Returns ``Ingested``: ``.documents`` (ids unique, PII redacted when ``data.pii.enabled``),
    ``.skipped`` (files/lines left out: ``Skip(path, reason, line)``, written to
    ``rejected.jsonl`` with stage ``ingest``) and ``.pii`` (redactions per entity type).
    """
    return ingest_sources(config)


def build_dataset(config: RunConfig, on_step: Progress | None = None) -> BuiltDataset:
    step = on_step or (lambda _: None)
    data = config.data
    step("reading documents")
    ingested = load_documents(config)
    documents = ingested.documents
    for skip in ingested.skipped:
        step(f"skipped {skip.where()}: {skip.reason}")
    contexts = chunk_documents(documents, data.chunk.max_chars, data.chunk.min_chars)
    doc_splits = split_documents([d.id for d in documents], data.split.val, data.split.test,
                                 config.seed)
    split_of = {doc_id: name for name, ids in doc_splits.items() for doc_id in ids}

    step(f"generating questions for {len(contexts)} contexts")
    generator = make_generator(data.generate, cache_dir=config.run_dir / "data" / "cache",
                               seed=config.seed)
    by_split: dict[str, list[QARecord]] = {name: [] for name in SPLITS}
    contexts_by_split: dict[str, list[Context]] = {name: [] for name in SPLITS}
    for ctx, records in zip(
        contexts, generate_questions(generator, contexts, data.generate.per_context), strict=True
    ):
        contexts_by_split[split_of[ctx.doc_id]].append(ctx)
        by_split[split_of[ctx.doc_id]].extend(records)

    if data.augment.swap:
        step(f"swapping answers ({data.augment.swap} per training record)")
        by_split["train"] += swap_answers(by_split["train"], data.augment.swap, config.seed)

    step("pairing questions with mismatched contexts")
    rejected: list[Rejection] = []
    for offset, name in enumerate(SPLITS):
        answerable = by_split[name]
        count = count_for_fraction(len(answerable), data.mix.unanswerable)
        negatives, dropped = make_unanswerable(
            answerable, contexts_by_split[name], count, config.seed + offset
        )
        rejected.extend(dropped)
        by_split[name] = sorted(answerable + negatives, key=lambda r: r.id)
    return BuiltDataset(by_split, documents, doc_splits, rejected, ingested.skipped,
                        ingested.pii)


def dataset_stats(built: BuiltDataset) -> dict[str, Any]:
    return {
        "counts": {name: len(records) for name, records in built.splits.items()},
        "kinds": {
            name: dict(Counter(r.kind for r in records)) for name, records in built.splits.items()
        },
        "documents": {name: len(ids) for name, ids in built.doc_splits.items()},
        "generated_by": {
            name: dict(Counter(
                str(r.provenance.get("augment") or r.provenance.get("rule")
                    or r.provenance.get("generator"))
                for r in records
            ))
            for name, records in built.splits.items()
        },
        "rejected": len(built.rejected),
        "skipped": [skip.to_dict() for skip in built.skipped],
        "pii_redactions": built.pii,
    }


def write_dataset(built: BuiltDataset, out_dir: Path) -> dict[str, Any]:
    """Write the splits, the rejected records and the stats; every file atomically."""
    for name, records in built.splits.items():
        write_records(out_dir / f"{name}.jsonl", records)
    write_jsonl_atomic(
        out_dir / "rejected.jsonl",
        [*({"stage": r.stage, "reason": r.reason, "record": r.record.model_dump(mode="json")}
           for r in built.rejected),
         *(skip.to_dict() for skip in built.skipped)],
    )
    write_json_atomic(out_dir / "splits.json", built.doc_splits)
    stats = dataset_stats(built)
    write_json_atomic(out_dir / "stats.json", stats)
    return stats
