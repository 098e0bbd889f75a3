"""Answer-span check: is the answer really in its context, and where?

Tried in order, the first that finds the answer wins (seed: "Check answer span with regular
expressions"):

1. ``exact``: the answer at ``answer_start`` (kept as is), else anywhere verbatim (the
   occurrence nearest the old ``answer_start`` wins);
2. ``normalised``: case and whitespace differences only;
3. ``regex``: the answer's words in order, separated by any run of punctuation or
   whitespace ("e mail" finds "e-mail", "7 420" finds "7,420");
4. ``fuzzy``: rapidfuzz's best partial alignment, accepted at ``fuzzy_min`` (0-100) or above.

A repaired record takes the context's own text as its answer and its offset as
``answer_start``, so ``contexts[0][answer_start:][:len(answer)] == answer`` always holds. The
answer is searched in ``contexts[0]`` (``answer_start`` indexes it); a multi-hop answer found
only in a later context keeps ``answer_start = None`` and records which context holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from tunesmith.data.schema import QARecord

Method = Literal["exact", "moved", "normalised", "regex", "fuzzy"]
DEFAULT_FUZZY_MIN = 90.0
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SpanMatch:
    start: int
    text: str
    method: Method
    score: float = 100.0


def _nearest(starts: list[int], hint: int | None) -> int:
    return min(starts, key=lambda s: abs(s - (hint or 0)))


def find_answer(answer: str, context: str, hint: int | None = None,
                fuzzy_min: float = DEFAULT_FUZZY_MIN) -> SpanMatch | None:
    """Where ``answer`` is in ``context``, by the first method of the module docstring that
    finds it; None when none does."""
    if not answer.strip():
        return None
    if hint is not None and context[hint : hint + len(answer)] == answer:
        return SpanMatch(hint, answer, "exact")
    starts = [m.start() for m in re.finditer(re.escape(answer), context)]
    if starts:
        return SpanMatch(_nearest(starts, hint), answer, "moved")
    spaced = r"\s+".join(re.escape(part) for part in answer.split())
    found = list(re.finditer(spaced, context, flags=re.IGNORECASE))
    if found:
        best = min(found, key=lambda m: abs(m.start() - (hint or 0)))
        return SpanMatch(best.start(), best.group(0), "normalised")
    words = _WORD.findall(answer)
    if words:
        pattern = r"\b" + r"[\W_]*".join(re.escape(w) for w in words) + r"\b"
        found = list(re.finditer(pattern, context, flags=re.IGNORECASE))
        if found:
            best = min(found, key=lambda m: abs(m.start() - (hint or 0)))
            return SpanMatch(best.start(), best.group(0), "regex")
    alignment = fuzz.partial_ratio_alignment(answer, context, processor=str.lower)
    if alignment is not None and alignment.score >= fuzzy_min:
        start, end = alignment.dest_start, alignment.dest_end
        text = context[start:end].strip()
        if text:
            start += context[start:end].index(text)
            return SpanMatch(start, text, "fuzzy", alignment.score)
    return None


@dataclass(frozen=True)
class SpanCheck:
    """The outcome for one record: the record to keep (repaired or not), or why it is dropped."""

    record: QARecord | None
    method: Method | Literal["none", "later_context"] | None
    reason: str = ""


def check_span(record: QARecord, fuzzy_min: float = DEFAULT_FUZZY_MIN) -> SpanCheck:
    """Check (and repair) one record's answer span. Records without an answer pass."""
    if record.answer is None:
        return SpanCheck(record, None)
    match = find_answer(record.answer, record.contexts[0], record.answer_start, fuzzy_min)
    if match is None:
        for index, other in enumerate(record.contexts[1:], start=1):
            if find_answer(record.answer, other, None, fuzzy_min) is not None:
                provenance = {**record.provenance, "answer_context": index}
                repaired = record.model_copy(update={"answer_start": None,
                                                     "provenance": provenance})
                return SpanCheck(repaired, "later_context")
        return SpanCheck(None, "none", f"answer {record.answer!r} not found in its context "
                                       f"(exact, normalised, regex, fuzzy >= {fuzzy_min:g})")
    if match.method == "exact":
        return SpanCheck(record, "exact")
    provenance = {**record.provenance, "span_repair": match.method}
    if match.text != record.answer:
        provenance["answer_before_repair"] = record.answer
    repaired = QARecord.model_validate({
        **record.model_dump(), "answer": match.text, "answer_start": match.start,
        "provenance": provenance,
    })
    return SpanCheck(repaired, match.method)
