"""Quality control over the built splits, one check after another.

Order, and why:

1. answer spans: repair first, so later checks see the final answer text;
2. PII scan: personal data left after redaction (Presidio, ``quality/pii.py``);
3. near-duplicates within each split (MinHash LSH);
4. semantic validation: question-context cosine (MiniLM), after dedup so fewer records are
   encoded;
5. leakage: near-duplicates across splits, last, on what will be written.

Every dropped record becomes a ``Rejection`` (stage, reason) for ``rejected.jsonl``; the
numbers go to ``stats.json`` and the data report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunesmith.config.auto import is_auto
from tunesmith.config.data_io import PIIConfig
from tunesmith.config.data_quality import QualityConfig
from tunesmith.data.quality import dedup, leakage, semantic, spans
from tunesmith.data.schema import QARecord, Rejection

Progress = Callable[[str], None]


@dataclass
class QualityResult:
    splits: dict[str, list[QARecord]]
    rejected: list[Rejection] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)  # record id -> cosine


def _check_spans(records: Sequence[QARecord], fuzzy_min: float
                 ) -> tuple[list[QARecord], list[Rejection], Counter[str]]:
    kept: list[QARecord] = []
    rejected: list[Rejection] = []
    methods: Counter[str] = Counter()
    for record in records:
        result = spans.check_span(record, fuzzy_min)
        if result.method is not None:
            methods[result.method] += 1
        if result.record is None:
            rejected.append(Rejection(record, "span", result.reason))
        else:
            kept.append(result.record)
    return kept, rejected, methods


def _scan_pii(splits: dict[str, list[QARecord]], pii: PIIConfig, drop: bool
              ) -> tuple[list[Rejection], dict[str, Any]]:
    """Findings of the entity types redaction replaces with its placeholder: any left is a
    leak (synthetic replacements are PII-shaped by design and not looked for)."""
    # deferred: importing it loads presidio_analyzer, spacy, torch
    from tunesmith.data.quality.pii import PIIRedactor, scan_pii_many

    redacted = [e for e in {*pii.entities, *pii.per_entity} if pii.action(e) == "redact"]
    if not redacted:
        return [], {"skipped": "no entity type is redacted with the placeholder (data.pii)"}
    redactor = PIIRedactor(pii.model_copy(update={"enabled": True, "entities": sorted(redacted),
                                                  "per_entity": {}}))
    texts: dict[str, int] = {}
    for records in splits.values():
        for r in records:
            for text in (r.question, r.answer or "", *r.contexts):
                texts.setdefault(text, len(texts))
    findings = scan_pii_many(list(texts), redactor)
    rejected: list[Rejection] = []
    found: Counter[str] = Counter()
    flagged: list[str] = []
    for name, records in splits.items():
        kept = []
        for r in records:
            types = sorted({f.entity_type for text in (r.question, r.answer or "", *r.contexts)
                            for f in findings[texts[text]]})
            if types:
                found.update(types)
                flagged.append(r.id)
            if types and drop:
                rejected.append(Rejection(r, "pii", f"personal data left after redaction: "
                                                    f"{', '.join(types)}"))
            else:
                kept.append(r)
        splits[name] = kept
    return rejected, {"entities": dict(found), "records": len(flagged),
                      "examples": flagged[:20], "dropped": drop}


def _similarity_summary(scores: Mapping[str, float], records: Sequence[QARecord],
                        threshold: float) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(scores[record.id])
    summary: dict[str, Any] = {"threshold": threshold}
    for kind, values in sorted(by_kind.items()):
        ordered = sorted(values)
        summary[kind] = {
            "n": len(ordered), "mean": round(sum(ordered) / len(ordered), 4),
            "p10": round(ordered[len(ordered) // 10], 4),
            "median": round(ordered[len(ordered) // 2], 4),
            "below_threshold": sum(v < threshold for v in ordered),
        }
    return summary


def run_quality_control(
    splits: Mapping[str, Sequence[QARecord]], config: QualityConfig,
    on_step: Progress | None = None, pii: PIIConfig | None = None,
) -> QualityResult:
    """Run the enabled checks on every split; returns what is kept and what was dropped."""
    step = on_step or (lambda _: None)
    current = {name: list(records) for name, records in splits.items()}
    result = QualityResult(current)
    counts: dict[str, Any] = {"before": sum(len(r) for r in current.values())}

    if config.span_check:
        step("checking answer spans")
        methods: Counter[str] = Counter()
        for name, records in current.items():
            current[name], dropped, found = _check_spans(records, config.fuzzy_min)
            result.rejected += dropped
            methods.update(found)
        result.summary["spans"] = dict(methods)

    scan = config.pii_scan
    if is_auto(scan):
        scan = "report" if pii is not None and pii.enabled else "off"
    if scan != "off":
        step("scanning for personal data left after redaction (Presidio)")
        dropped, pii_summary = _scan_pii(current, pii or PIIConfig(enabled=True), scan == "drop")
        result.rejected += dropped
        result.summary["pii"] = pii_summary

    if config.dedup:
        step(f"removing near-duplicates (MinHash LSH, threshold {config.dedup_threshold})")
        for name, records in current.items():
            current[name], pairs = dedup.deduplicate_records(
                records, config.dedup_threshold, config.num_perm)
            result.rejected += [Rejection(r, "dedup", reason) for r, reason in pairs]

    if config.semantic:
        everything = [r for records in current.values() for r in records]
        step(f"scoring question-context similarity of {len(everything)} records "
             f"({config.encoder})")
        scores = semantic.question_context_similarity(everything, config.encoder)
        result.similarity = {r.id: s for r, s in zip(everything, scores, strict=True)}
        filtered = set(config.semantic_kinds)
        floor = config.min_question_context_similarity
        for name, records in current.items():
            kept = []
            for record in records:
                score = result.similarity[record.id]
                if record.kind in filtered and score < floor:
                    result.rejected.append(Rejection(
                        record, "semantic",
                        f"question-context cosine {score:.3f} < {floor} ({config.encoder})"))
                else:
                    kept.append(record)
            current[name] = kept
        result.summary["similarity"] = _similarity_summary(result.similarity, everything, floor)

    if config.leakage:
        step("checking that no near-duplicate crosses splits")
        leaks = leakage.find_leaks(current, config.dedup_threshold, config.num_perm)
        gone = {id(leak.record) for leak in leaks}
        for name in current:
            current[name] = [r for r in current[name] if id(r) not in gone]
        result.rejected += [Rejection(leak.record, "leakage", leak.reason) for leak in leaks]
        result.summary["leaks"] = len(leaks)

    counts["after"] = sum(len(r) for r in current.values())
    counts["dropped"] = dict(Counter(r.stage for r in result.rejected))
    result.summary["counts"] = counts
    return result
