"""Natural Questions, simplified JSONL (``simplified-nq-*.jsonl[.gz]``) into QA records.

A simplified example holds the page as whitespace-separated tokens (``document_text``, HTML
tags such as ``<P>`` are tokens too) and annotations as token spans. The context is the
annotated long answer (a paragraph, list or table) without its HTML tokens; the answer is the
first short answer inside it, located by character offset, further short answers (and other
annotators' answers) become ``alt_answers``; a yes/no annotation becomes the answer "yes" or
"no" (not a span). An example whose annotators found no long answer is unanswerable against
the page's first paragraph. An example with a long answer but no short or yes/no answer has
no short span to learn, so it is skipped with that reason.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tunesmith.data.formats.base import ImportResult, importer
from tunesmith.data.schema import QARecord
from tunesmith.data.sources.base import Skip


def _is_html(token: str) -> bool:
    return token.startswith("<") and token.endswith(">")


def _span_text(tokens: list[str], start: int, end: int) -> tuple[str, dict[int, int]]:
    """Text of tokens[start:end] without HTML tokens, and each kept token's char offset."""
    parts: list[str] = []
    offsets: dict[int, int] = {}
    length = 0
    for index in range(start, end):
        token = tokens[index]
        if _is_html(token):
            continue
        if parts:
            length += 1
        offsets[index] = length
        parts.append(token)
        length += len(token)
    return " ".join(parts), offsets


def _short_text(tokens: list[str], span: dict[str, int]) -> str:
    return " ".join(t for t in tokens[span["start_token"]:span["end_token"]] if not _is_html(t))


def _first_paragraph(example: dict[str, Any], tokens: list[str]) -> tuple[int, int] | None:
    for cand in example.get("long_answer_candidates", []):
        if cand.get("top_level", True) and tokens[cand["start_token"]] == "<P>":
            return cand["start_token"], cand["end_token"]
    return None


def nq_record(example: dict[str, Any]) -> QARecord | str:
    """One simplified NQ example as a record, or the reason it cannot be one."""
    tokens = example["document_text"].split(" ")
    question = example["question_text"].strip()
    question = question[0].upper() + question[1:] + ("" if question.endswith("?") else "?")
    annotations = example.get("annotations") or []
    longs = [a for a in annotations if a.get("long_answer", {}).get("start_token", -1) >= 0]
    base: dict[str, Any] = {
        "id": str(example["example_id"]), "question": question,
        "source_doc_ids": [example.get("document_url") or f"nq/{example['example_id']}"],
    }
    if not longs:
        span = _first_paragraph(example, tokens)
        if span is None:
            return "no long answer and no paragraph to pair the question with"
        context, _ = _span_text(tokens, *span)
        return QARecord(**base, contexts=[context], kind="unanswerable", provenance={
            "imported_from": "nq", "nq": {"long_answer": None, "context_tokens": list(span)}})
    long = longs[0]["long_answer"]
    start, end = long["start_token"], long["end_token"]
    context, offsets = _span_text(tokens, start, end)
    answers: list[tuple[str, int | None]] = []
    yes_no = None
    for annotation in longs:
        flag = annotation.get("yes_no_answer", "NONE")
        if flag in ("YES", "NO"):
            yes_no = yes_no or flag.lower()
        for short in annotation.get("short_answers", []):
            if not start <= short["start_token"] < short["end_token"] <= end:
                continue  # another annotator's span outside this long answer
            text = _short_text(tokens, short)
            first = next((i for i in range(short["start_token"], short["end_token"])
                          if i in offsets), None)
            if text and first is not None:
                answers.append((text, offsets[first]))
    provenance = {"imported_from": "nq", "nq": {
        "long_answer": [start, end], "yes_no_answer": yes_no,
        "annotations": len(annotations)}}
    if answers:
        texts = list(dict.fromkeys(text for text, _ in answers))
        return QARecord(**base, contexts=[context], answer=answers[0][0],
                        answer_start=answers[0][1], alt_answers=texts[1:],
                        provenance=provenance)
    if yes_no:
        return QARecord(**base, contexts=[context], answer=yes_no, difficulty="inferential",
                        provenance=provenance)
    return "long answer only (no short answer or yes/no): no span to learn"


@importer("nq", "Natural Questions, simplified JSONL (optionally .gz)")
def import_nq(path: Path) -> ImportResult:
    """Every line as a record or a skip with its line number; a bad line stops nothing."""
    result = ImportResult()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                example = json.loads(raw.decode("utf-8"))  # JSON Lines is UTF-8 by definition
                outcome = nq_record(example)
            except UnicodeDecodeError as exc:
                outcome = f"not UTF-8 ({exc.reason} at byte {exc.start})"
            except json.JSONDecodeError as exc:
                outcome = f"not valid JSON ({exc.msg})"
            except KeyError as exc:
                outcome = f"missing key {exc}"
            except (TypeError, AttributeError, IndexError):
                outcome = "not a simplified Natural Questions example"
            except ValidationError as exc:
                outcome = f"invalid record ({exc.errors()[0]['msg']})"
            if isinstance(outcome, QARecord):
                result.records.append(outcome)
            else:
                result.skipped.append(Skip(str(path), outcome, number))
    return result
