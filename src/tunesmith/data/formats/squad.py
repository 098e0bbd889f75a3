"""SQuAD 2.0 JSON: import to QA records and export back, losslessly for SQuAD's own fields.

Import keeps every reference answer with its own ``answer_start`` (and the
``plausible_answers`` of unanswerable questions) in ``provenance["squad"]``, so that an
export of unchanged records reproduces the original ids, questions, answers, starts and
``is_impossible`` flags. Records from elsewhere export with their answer and alternative
answers, each located in the context.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tunesmith.config.guard import GuardConfig
from tunesmith.data.formats.base import ImportResult, exporter, importer
from tunesmith.data.quality.spans import find_answer
from tunesmith.data.schema import QARecord, read_records
from tunesmith.data.sources.base import Skip, SkipFile
from tunesmith.data.sources.encoding import decode_text
from tunesmith.errors import TunesmithError
from tunesmith.utils.io import DataFileError, write_json_atomic


def read_json_file(path: Path) -> Any:
    """JSON from a file in any encoding; a syntax error names the file and line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = decode_text(raw)  # a BOM, UTF-8, else the detected encoding
    except SkipFile as exc:
        raise DataFileError(f"{path}: {exc.reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def _answers(rows: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise DataFileError(f"key '{key}': expected a list of answers")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                or not isinstance(row.get("answer_start"), int):
            raise DataFileError(f"key '{key}[{i}]': expected {{text: str, answer_start: int}}")
        out.append({"text": row["text"], "answer_start": row["answer_start"]})
    return out


@importer("squad", "SQuAD 2.0 JSON (data[].paragraphs[].qas[])")
def import_squad(path: Path) -> ImportResult:
    data = read_json_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataFileError(f"{path}: not SQuAD JSON: expected an object with a 'data' list")
    result = ImportResult()
    for a, article in enumerate(data["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs", []), list):
            result.skipped.append(Skip(str(path), f"key 'data[{a}]': expected an object with "
                                                  "a 'paragraphs' list"))
            continue
        title = str(article.get("title") or f"article-{a}")
        for p, paragraph in enumerate(article.get("paragraphs") or []):
            where = f"data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context:
                result.skipped.append(Skip(str(path), f"key '{where}.context': expected text"))
                continue
            qas = paragraph.get("qas") or []
            if not isinstance(qas, list):
                result.skipped.append(Skip(str(path), f"key '{where}.qas': expected a list"))
                continue
            for q, qa in enumerate(qas):
                key = f"{where}.qas[{q}]"
                try:
                    record, notes = _record(qa, context, title, p, key)
                    result.records.append(record)
                    result.notes += [Skip(str(path), note) for note in notes]
                except DataFileError as exc:
                    result.skipped.append(Skip(str(path), str(exc)))
                except ValidationError as exc:
                    result.skipped.append(Skip(str(path), f"key '{key}': "
                                                          f"{exc.errors()[0]['msg']}"))
    return result


def _record(qa: Any, context: str, title: str, p: int, key: str
            ) -> tuple[QARecord, list[str]]:
    """One question as a record, and notes on what was accepted but changed."""
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str) \
            or not isinstance(qa.get("question"), str):
        raise DataFileError(f"key '{key}': expected 'id' and 'question' strings")
    answers = _answers(qa.get("answers", []), f"{key}.answers")
    impossible = bool(qa.get("is_impossible", not answers))
    notes = []
    if impossible and answers:
        notes.append(f"key '{key}': is_impossible is true but {len(answers)} answer(s) are "
                     "given; imported as unanswerable (the answers kept in provenance)")
    squad: dict[str, Any] = {"title": title, "paragraph": p, "answers": answers}
    if "plausible_answers" in qa:
        squad["plausible_answers"] = _answers(qa["plausible_answers"],
                                              f"{key}.plausible_answers")
    common: dict[str, Any] = {
        "id": qa["id"], "question": qa["question"], "contexts": [context],
        "source_doc_ids": [f"{title}/{p}"],
        "provenance": {"imported_from": "squad", "squad": squad},
    }
    if impossible or not answers:
        if "is_impossible" in qa and not impossible:
            notes.append(f"key '{key}': is_impossible is false but no answer is given; "
                         "imported as unanswerable")
        return QARecord(**common, kind="unanswerable"), notes
    first = answers[0]
    alt = [a["text"] for a in answers[1:]]
    text, start = first["text"], first["answer_start"]
    if context[start:start + len(text)] != text:  # repaired as the build's span check does
        match = find_answer(text, context, start)
        if match is None:
            raise DataFileError(f"key '{key}.answers[0]': answer {text!r} is not in the "
                                f"context (answer_start={start})")
        common["provenance"]["span_repair"] = match.method
        if match.text != text:
            common["provenance"]["answer_before_repair"] = text
        notes.append(f"key '{key}.answers[0]': answer_start {start} repaired to "
                     f"{match.start} ({match.method})")
        text, start = match.text, match.start
    return QARecord(**common, answer=text, answer_start=start, alt_answers=alt), notes


def _squad_answers(record: QARecord, context: str) -> list[dict[str, Any]]:
    """Every reference with its start: the imported list when the record still matches it."""
    kept = record.provenance.get("squad", {}).get("answers")
    if kept and [a["text"] for a in kept] == record.references and all(
            context[a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
            for a in kept):
        return [dict(a) for a in kept]
    answers = []
    for i, text in enumerate(record.references):
        start = record.answer_start if i == 0 and record.answer_start is not None \
            else context.find(text)
        if start is not None and start >= 0:
            answers.append({"text": text, "answer_start": start})
    return answers


@exporter("squad", "SQuAD 2.0 JSON (articles by title, paragraphs by context)")
def export_squad(records: Sequence[QARecord], out: Path, guard: GuardConfig) -> int:
    articles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        squad = record.provenance.get("squad", {})
        title = str(squad.get("title") or (record.source_doc_ids[0].rsplit("/", 1)[0]
                                           if record.source_doc_ids else "tunesmith"))
        context = record.context  # several contexts are joined; contexts[0] comes first
        qa: dict[str, Any] = {"question": record.question, "id": record.id}
        if record.answer is None:
            qa["answers"] = []
            qa["is_impossible"] = True
            if "plausible_answers" in squad:
                qa["plausible_answers"] = squad["plausible_answers"]
        else:
            qa["answers"] = _squad_answers(record, context)
            qa["is_impossible"] = False
        articles.setdefault(title, {}).setdefault(context, []).append(qa)
    data = {"version": "v2.0", "data": [
        {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paras.items()]}
        for title, paras in articles.items()
    ]}
    write_json_atomic(out, data)
    return len(records)


def require_question_file(path: Path, key: str) -> Path:
    """``path``, the question file config key ``key`` names; a TunesmithError naming the key
    when it does not exist."""
    if not path.exists():
        raise TunesmithError(f"{key}: {path} does not exist")
    return path


def read_question_file(path: Path, key: str) -> list[QARecord]:
    """The QA records of a question file a config names (``eval.dataset``,
    ``guard.calibrate.dataset``): SQuAD 2.0 ``.json`` or QA-record ``.jsonl``. A missing file is
    a TunesmithError that names the key."""
    require_question_file(path, key)
    if path.suffix == ".json":
        return import_squad(path).records
    return read_records(path)
