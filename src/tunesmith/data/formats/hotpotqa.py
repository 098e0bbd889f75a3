"""HotpotQA (distractor setting JSON) into multi-hop QA records.

The contexts are the paragraphs named by ``supporting_facts`` (the two documents a bridge or
comparison question joins), the one holding the answer first so that ``answer_start`` indexes
it; the distractor paragraphs are dropped, their titles kept in provenance. Yes/no answers of
comparison questions are answers without a span.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tunesmith.data.formats.base import ImportResult, importer
from tunesmith.data.formats.squad import read_json_file
from tunesmith.data.schema import QARecord
from tunesmith.data.sources.base import Skip
from tunesmith.utils.io import DataFileError


def hotpot_record(example: dict[str, Any]) -> QARecord:
    paragraphs = {title: "".join(sentences).strip() for title, sentences in example["context"]}
    titles = list(dict.fromkeys(title for title, _ in example["supporting_facts"]))
    missing = [t for t in titles if t not in paragraphs]
    if missing:
        raise KeyError(f"supporting fact title(s) not in context: {missing}")
    answer = str(example["answer"])
    holding = [t for t in titles if answer in paragraphs[t]]
    if holding:
        titles.remove(holding[0])
        titles.insert(0, holding[0])
    contexts = [paragraphs[t] for t in titles]
    start = contexts[0].find(answer) if answer.lower() not in ("yes", "no") else -1
    return QARecord(
        id=str(example["_id"]), question=example["question"], contexts=contexts,
        answer=answer, answer_start=start if start >= 0 else None, kind="multihop",
        difficulty="multihop", source_doc_ids=titles,
        provenance={"imported_from": "hotpotqa", "hotpotqa": {
            "type": example.get("type"), "level": example.get("level"),
            "supporting_facts": example["supporting_facts"],
            "distractors": [t for t in paragraphs if t not in titles]}},
    )


@importer("hotpotqa", "HotpotQA distractor JSON (a list of examples)")
def import_hotpotqa(path: Path) -> ImportResult:
    data = read_json_file(path)
    if not isinstance(data, list):
        raise DataFileError(f"{path}: not HotpotQA JSON: expected a list of examples")
    result = ImportResult()
    for index, example in enumerate(data):
        try:
            result.records.append(hotpot_record(example))
        except KeyError as exc:
            result.skipped.append(Skip(str(path), f"[{index}]: missing key {exc}"))
        except (TypeError, ValueError, AttributeError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            result.skipped.append(Skip(str(path), f"[{index}]: not a HotpotQA example "
                                                  f"({reason})"))
    return result
