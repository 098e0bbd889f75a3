"""How much PII the redactor finds: recall and precision against a labelled set.

The labelled set is JSONL, one text per line: ``{"id", "text", "entities": [{"type", "start",
"end", "text"}], "near_misses": [{"kind", "start", "end", "text"}]}``; tunesmith's own is
``tests/fixtures/pii/tickets.jsonl`` (support-ticket-like texts written for the project).

Matching rule (type-aware, overlap-based):

- a gold entity is **found** when findings of its type cover at least half of its characters
  (half a name left in clear text is a leak; "Mr." or a trailing city outside a finding is not);
- a finding is **correct** when it overlaps a gold entity of its type; every other finding is a
  false positive, counted under its own type (types outside the labelled ones under ``OTHER``);
- a near miss is **hit** when any finding overlaps it (those hits are false positives too).

Types are reported in groups: the national ID types (US SSN, UK NHS and NINO, Canadian SIN) as
``NATIONAL_ID``, each also on its own row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunesmith.data.quality.pii import PIIRedactor

NATIONAL_IDS = ("US_SSN", "UK_NHS", "UK_NINO", "CA_SIN")
GROUPS = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "IBAN_CODE",
          "CREDIT_CARD", "NATIONAL_ID")
MIN_COVER = 0.5


def group_of(entity_type: str) -> str:
    if entity_type in NATIONAL_IDS:
        return "NATIONAL_ID"
    return entity_type if entity_type in GROUPS else "OTHER"


@dataclass(frozen=True)
class Span:
    """A labelled span: an entity type (or a near miss's kind), offsets and the text."""

    label: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LabelledText:
    id: str
    text: str
    entities: tuple[Span, ...]
    near_misses: tuple[Span, ...] = ()


def load_labelled(path: Path) -> list[LabelledText]:
    """A labelled set; raises ``ValueError`` where a span's text is not at its offsets."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = row["text"]
        spans = {key: tuple(Span(s.get("type") or s["kind"], s["start"], s["end"], s["text"])
                            for s in row.get(key, ()))
                 for key in ("entities", "near_misses")}
        for span in (*spans["entities"], *spans["near_misses"]):
            if text[span.start:span.end] != span.text:
                raise ValueError(f"{path}:{number}: {span.label} {span.text!r} is not at "
                                 f"{span.start}:{span.end} ({text[span.start:span.end]!r})")
        out.append(LabelledText(row["id"], text, spans["entities"], spans["near_misses"]))
    return out


@dataclass
class Score:
    """Counts for one type (or group): gold entities found, findings correct."""

    entities: int = 0
    found: int = 0
    found_any_type: int = 0  # covered by some finding, of whatever type: redacted anyway
    findings: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.entities if self.entities else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.findings if self.findings else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"entities": self.entities, "found": self.found,
                "found_any_type": self.found_any_type, "findings": self.findings,
                "correct": self.correct, "recall": round(self.recall, 4),
                "precision": round(self.precision, 4), "f1": round(self.f1, 4)}


@dataclass
class RecallReport:
    """Scores per group and per national ID type, overall, and what went wrong where."""

    scores: dict[str, Score] = field(default_factory=dict)
    overall: Score = field(default_factory=Score)
    near_misses: int = 0
    near_misses_hit: int = 0
    missed: list[tuple[str, Span]] = field(default_factory=list)  # (text id, gold span)
    false_positives: list[tuple[str, Span]] = field(default_factory=list)  # (id, finding)

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": f"gold found: findings of its type cover >= {MIN_COVER:.0%} of its "
                    "characters; finding correct: overlaps a gold entity of its type",
            "per_type": {name: s.as_dict() for name, s in self.scores.items()},
            "overall": self.overall.as_dict(),
            "near_misses": self.near_misses, "near_misses_hit": self.near_misses_hit,
            "missed": [{"id": i, "type": s.label, "text": s.text} for i, s in self.missed],
            "false_positives": [{"id": i, "type": s.label, "text": s.text}
                                for i, s in self.false_positives],
        }


def _covered(span: Span, findings: Sequence[Span]) -> int:
    chars: set[int] = set()
    for f in findings:
        chars.update(range(max(span.start, f.start), min(span.end, f.end)))
    return len(chars)


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def score_findings(labelled: Sequence[LabelledText],
                   findings: Sequence[Sequence[Span]]) -> RecallReport:
    """Score findings (one list per labelled text) with the module's matching rule."""
    report = RecallReport()

    def rows(label: str) -> list[Score]:
        names = [group_of(label)] + ([label] if label in NATIONAL_IDS else [])
        return [report.scores.setdefault(n, Score()) for n in names] + [report.overall]

    for name in (*GROUPS, *NATIONAL_IDS):
        report.scores[name] = Score()
    for item, found in zip(labelled, findings, strict=True):
        for gold in item.entities:
            same = [f for f in found if f.label == gold.label]
            hit = _covered(gold, same) >= MIN_COVER * (gold.end - gold.start)
            anyway = _covered(gold, found) >= MIN_COVER * (gold.end - gold.start)
            for score in rows(gold.label):
                score.entities += 1
                score.found += hit
                score.found_any_type += anyway
            if not hit:
                report.missed.append((item.id, gold))
        for finding in found:
            correct = any(g.label == finding.label and _overlaps(g, finding)
                          for g in item.entities)
            for score in rows(finding.label):
                score.findings += 1
                score.correct += correct
            if not correct:
                report.false_positives.append((item.id, finding))
        report.near_misses += len(item.near_misses)
        report.near_misses_hit += sum(any(_overlaps(n, f) for f in found)
                                      for n in item.near_misses)
    return report


def find_spans(redactor: PIIRedactor, labelled: Sequence[LabelledText]) -> list[list[Span]]:
    """The redactor's findings per text, through ``find_many`` (the data build's path)."""
    texts = [item.text for item in labelled]
    return [[Span(r.entity_type, r.start, r.end, text[r.start:r.end]) for r in results]
            for text, results in zip(texts, redactor.find_many(texts), strict=True)]


def measure_recall(redactor: PIIRedactor, labelled: Sequence[LabelledText]) -> RecallReport:
    """Run the redactor's finding step and score it."""
    return score_findings(labelled, find_spans(redactor, labelled))
