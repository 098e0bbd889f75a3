"""The data workflow, top to bottom: ingest (with skips) -> redact -> chunk -> split by
document -> generate -> augment (train) -> construct the mix -> quality control -> review
decisions -> balance -> write the splits, rejected.jsonl, stats.json, the data card and the
data report.

Every record dropped on the way is a ``Rejection`` (stage, reason) in ``rejected.jsonl``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig
from tunesmith.data.augment import augment_records
from tunesmith.data.card import write_data_card
from tunesmith.data.chunk import Context, chunk_documents
from tunesmith.data.construct import construct_mix
from tunesmith.data.generate import generate_questions, make_generator
from tunesmith.data.ingest import Ingested, attach_provenance, ingest_sources
from tunesmith.data.quality.run import run_quality_control
from tunesmith.data.review import apply_review, load_rounds, review_rates
from tunesmith.data.schema import QARecord, Rejection, write_records
from tunesmith.data.sources import Document, Skip
from tunesmith.data.split import SPLITS, split_documents
from tunesmith.data.stats import balance, length_report, token_counter, token_lengths
from tunesmith.errors import TunesmithError
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic
from tunesmith.utils.layout import RunLayout

Progress = Callable[[str], None]


@dataclass
class BuiltDataset:
    splits: dict[str, list[QARecord]]
    documents: list[Document]
    doc_splits: dict[str, list[str]]
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # ingest: files/lines not read
    pii: dict[str, int] = field(default_factory=dict)  # redactions per entity type
    quality: dict[str, Any] = field(default_factory=dict)  # what each check found
    similarity: dict[str, float] = field(default_factory=dict)  # record id -> q-c cosine
    review: dict[str, Any] = field(default_factory=dict)  # rejection rate per review round
    balance: dict[str, Any] = field(default_factory=dict)  # shares before/after per split
    contexts: int = 0  # contexts the documents were cut into


class EmptyDatasetError(TunesmithError):
    """The build kept no training record: nothing to train on."""


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
    generator = make_generator(data.generate, cache_dir=RunLayout.of(config).data_cache,
                               seed=config.seed)
    by_split: dict[str, list[QARecord]] = {name: [] for name in SPLITS}
    contexts_by_split: dict[str, list[Context]] = {name: [] for name in SPLITS}
    for ctx, records in zip(
        contexts, generate_questions(generator, contexts, data.generate.per_context), strict=True
    ):
        contexts_by_split[split_of[ctx.doc_id]].append(ctx)
        by_split[split_of[ctx.doc_id]].extend(records)

    # augmentation before construction: the mix's shares are then those of the final data
    rejected: list[Rejection] = list(getattr(generator, "rejected", []))  # llm/hf: bad pairs
    augmented, dropped = augment_records(
        by_split["train"], data.augment, config.seed, contexts_by_split["train"],
        data.generate, RunLayout.of(config).data_cache, on_step=step,
    )
    by_split["train"] += augmented
    rejected.extend(dropped)

    step("constructing the mix: hard negatives, adversarial and multi-hop questions")
    by_split, dropped = construct_mix(by_split, contexts_by_split, data.mix, config.seed,
                                      on_step=step)
    rejected.extend(dropped)
    attach_provenance((r for records in by_split.values() for r in records), documents)
    built = BuiltDataset(by_split, documents, doc_splits, rejected, ingested.skipped,
                         ingested.pii, contexts=len(contexts))
    return check_and_balance(config, built, step)


def _mix_targets(config: RunConfig) -> dict[str, float]:
    """The construction's shares per answerability class (see ``tunesmith.data.stats``)."""
    mix = config.data.mix
    answerable = getattr(mix, "answerable", None)
    targets = {"unanswerable": mix.unanswerable}
    if answerable is not None:
        targets["answerable"] = answerable
    adversarial = getattr(mix, "adversarial", None)
    if adversarial is not None:
        targets["ambiguous"] = adversarial
    return targets


def check_and_balance(config: RunConfig, built: BuiltDataset, step: Progress) -> BuiltDataset:
    """Quality control, then the saved review decisions, then balance; in place."""
    data = config.data
    checked = run_quality_control(built.splits, data.quality, step, pii=data.pii)
    built.rejected += checked.rejected
    built.quality, built.similarity = checked.summary, checked.similarity

    rounds = load_rounds(config.resolve(data.review.dir), list(data.review.expected))
    splits = checked.splits
    if rounds:
        step(f"applying review decisions ({', '.join(rounds)})")
        splits, dropped = apply_review(splits, rounds)
        built.rejected += dropped
    built.review = review_rates(rounds, data.review.expected)

    step("grading difficulty and balancing answerability and difficulty")
    splits, dropped, report = balance(splits, data.balance, config.seed, _mix_targets(config))
    built.rejected += dropped
    built.balance = report
    built.splits = {name: sorted(records, key=lambda r: r.id) for name, records in splits.items()}
    return built


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
        "rejected_by_stage": dict(Counter(r.stage for r in built.rejected)),
        "quality": built.quality,
        "review": built.review,
        "balance": built.balance,
        "skipped": [skip.to_dict() for skip in built.skipped],
        "pii_redactions": built.pii,
    }


def write_dataset(built: BuiltDataset, out_dir: Path,
                  config: RunConfig | None = None) -> dict[str, Any]:
    """Write the splits, the rejected records, the stats and (given the config) the token
    lengths, the data card and the data report; every file atomically."""
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
    lengths: dict[str, list[int]] = {}
    if config is not None:
        count, counted_by = token_counter(config, out_dir.parent)
        everything = [r for records in built.splits.values() for r in records]
        measured = token_lengths(everything, count)
        stats["lengths"] = length_report(measured, config.data.balance, counted_by)
        lengths = {name: [n for _, n in rows] for name, rows in measured.items()}
    write_json_atomic(out_dir / "stats.json", stats)
    if config is not None:
        _write_card_and_report(built, out_dir, config, stats, lengths)
    return stats


def require_training_records(built: BuiltDataset, out_dir: Path) -> None:
    """Refuse a build whose train split is empty, saying what was read, skipped and dropped
    (the files written beside it, ``rejected.jsonl`` and ``stats.json``, say it in full)."""
    if built.splits.get("train"):
        return
    train_docs = len(built.doc_splits.get("train", []))
    parts = [f"{len(built.documents)} documents read ({train_docs} in the train split), "
             f"{built.contexts} contexts"]
    if built.skipped:
        shown = "; ".join(f"{s.where()}: {s.reason}" for s in built.skipped[:3])
        more = f"; and {len(built.skipped) - 3} more" if len(built.skipped) > 3 else ""
        parts.append(f"{len(built.skipped)} skipped ({shown}{more})")
    stages = Counter(r.stage for r in built.rejected)
    if stages:
        parts.append("dropped by stage: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(stages.items())))
        first = next(r for r in built.rejected if r.stage in stages)
        parts.append(f"first reason: {first.reason}")
    elif not train_docs:
        parts.append("no document went to the train split (data.split.val/test)")
    else:
        parts.append("the generator wrote no question from these contexts (too short or "
                     "without facts it recognises; data.chunk, data.generate.generator)")
    raise EmptyDatasetError("data build kept no training record: " + "; ".join(parts)
                            + f". Details: {out_dir / 'rejected.jsonl'}, "
                              f"{out_dir / 'stats.json'}")


def _write_card_and_report(built: BuiltDataset, out_dir: Path, config: RunConfig,
                           stats: dict[str, Any], lengths: dict[str, list[int]]) -> None:
    from tunesmith.data.report import write_data_report  # deferred: imports matplotlib

    # every scored record, kept or dropped later, so the threshold's cut shows
    by_kind: dict[str, list[float]] = {}
    scored = [r for records in built.splits.values() for r in records]
    scored += [r.record for r in built.rejected]
    seen: set[str] = set()
    for record in scored:
        if record.id in built.similarity and record.id not in seen:
            seen.add(record.id)
            by_kind.setdefault(record.kind, []).append(built.similarity[record.id])
    report = write_data_report(out_dir, config.name, stats, lengths, by_kind)
    write_data_card(out_dir, stats, config, event="build",
                    extra_sections={"Quality control and balance": _card_summary(stats, report)})


def _card_summary(stats: dict[str, Any], report: Path) -> str:
    """The data report in a few lines of Markdown, for the data card."""
    lines = [f"The full data report, with histograms: `{report.name}`.", ""]
    dropped = stats.get("rejected_by_stage", {})
    if dropped:
        lines.append("- Dropped, by stage: " + ", ".join(f"{k} {v}" for k, v in
                                                        sorted(dropped.items())) + ".")
    for name, rounds in stats.get("review", {}).get("rounds", {}).items():
        lines.append(f"- Review round {name}: {rounds['rejected']} of {rounds['reviewed']} "
                     f"rejected ({rounds['rate']:.0%}; expected {rounds['expected'][0]:.0%}-"
                     f"{rounds['expected'][1]:.0%}).")
    train = stats.get("balance", {}).get("train", {})
    if "after" in train.get("answerability", {}):
        after = train["answerability"]["after"]
        level = train["difficulty"]["after"]
        lines.append("- Training split after balancing: " + ", ".join(
            f"{k} {v:.0%}" for k, v in after.items()) + "; difficulty " + ", ".join(
            f"{k} {v:.0%}" for k, v in level.items()) + ".")
    for name in ("question", "context", "answer"):
        r = stats.get("lengths", {}).get(name, {})
        if r.get("n"):
            lines.append(f"- {name.capitalize()} tokens: median {r['median']}, "
                         f"{r['within_range']:.0%} within the seed's {r['range'][0]}-"
                         f"{r['range'][1]} ({stats['lengths']['counted_by']}).")
    return "\n".join(lines)
