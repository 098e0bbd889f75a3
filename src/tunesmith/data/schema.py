"""``QARecord``: the one shape every Q&A example takes inside tunesmith."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunesmith.data.sources.base import Skip
from tunesmith.utils.io import DataFileError, write_jsonl_atomic

RecordKind = Literal["answerable", "unanswerable", "adversarial", "multihop", "ambiguous"]
Difficulty = Literal["simple", "inferential", "multihop"]


class QARecord(BaseModel):
    """A question, the context(s) it is asked against, and the answer (None: unanswerable).

    ``answer_start`` is a character offset into ``contexts[0]``, where the answer text must
    appear verbatim (SQuAD convention). ``alt_answers`` holds further reference answers.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str = Field(min_length=1)
    contexts: list[str] = Field(min_length=1)
    answer: str | None = None
    answer_start: int | None = None
    alt_answers: list[str] = Field(default_factory=list)
    kind: RecordKind = "answerable"
    difficulty: Difficulty = "simple"
    source_doc_ids: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _answer_matches_kind(self) -> QARecord:
        if self.kind == "unanswerable" and self.answer is not None:
            raise ValueError("an unanswerable record must have answer = null")
        if self.answer is not None and self.answer_start is not None:
            span = self.contexts[0][self.answer_start : self.answer_start + len(self.answer)]
            if span != self.answer:
                raise ValueError(
                    f"answer {self.answer!r} not found at answer_start={self.answer_start} "
                    f"(context has {span!r})"
                )
        return self

    @property
    def answerable(self) -> bool:
        return self.answer is not None

    @property
    def context(self) -> str:
        """All contexts joined: what the model is shown."""
        return "\n\n".join(self.contexts)

    @property
    def references(self) -> list[str]:
        """Gold answers for scoring; empty for an unanswerable question."""
        return [] if self.answer is None else [self.answer, *self.alt_answers]


@dataclass(frozen=True)
class Rejection:
    """A record a stage left out (generate, construct, augment, quality, review) and why; the
    build writes every one to ``rejected.jsonl``."""

    record: QARecord
    stage: str
    reason: str


def read_records(path: Path, skipped: list[Skip] | None = None) -> list[QARecord]:
    """Load QA records from JSON Lines; a bad record names the file, line and key.

    With ``skipped=None`` the first bad line raises :class:`DataFileError` (the files the
    build writes are read so). Given a list, the data sources' rule applies instead: each bad
    line is appended to it as a :class:`Skip` and the good ones are kept; only a file with
    bad lines and no good one left raises.
    """
    path = Path(path)
    records: list[QARecord] = []
    bad: list[Skip] = []
    for number, row in _jsonl_rows(path, bad, strict=skipped is None):
        try:
            records.append(QARecord.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "<record>"
            reason = f"key '{key}': {first['msg']}"
            if skipped is None:
                raise DataFileError(f"{path}:{number}: {reason}") from None
            bad.append(Skip(str(path), reason, number))
    if skipped is not None:
        skipped.extend(bad)
        if bad and not records:
            raise DataFileError(f"{path}: no valid record ({len(bad)} bad lines; first, "
                                f"{bad[0].where()}: {bad[0].reason})")
    return records


def _jsonl_rows(path: Path, bad: list[Skip], strict: bool) -> Iterator[tuple[int, Any]]:
    """(line number, object) per non-blank line; a line that is not a JSON object (or not
    UTF-8) raises when ``strict``, else goes to ``bad``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
            problem = None if isinstance(row, dict) else "expected a JSON object per line"
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON ({exc.msg})"
        if problem is None:
            yield number, row
        elif strict:
            raise DataFileError(f"{path}:{number}: {problem}")
        else:
            bad.append(Skip(str(path), problem, number))


def unique_ids(records: Sequence[QARecord]) -> tuple[list[QARecord], list[str]]:
    """The records with every id unique: a repeated id gets ``-2``, ``-3``, ... (the first
    keeps its own); returns them and one note per renamed record."""
    taken = {r.id for r in records}
    seen: set[str] = set()
    out: list[QARecord] = []
    notes: list[str] = []
    for record in records:
        if record.id in seen:
            n = 2
            while f"{record.id}-{n}" in taken:
                n += 1
            new_id = f"{record.id}-{n}"
            taken.add(new_id)
            notes.append(f"duplicate id {record.id!r} renamed {new_id!r}")
            record = record.model_copy(update={"id": new_id})
        seen.add(record.id)
        out.append(record)
    return out, notes


def write_records(path: Path, records: Iterable[QARecord]) -> int:
    return write_jsonl_atomic(path, (r.model_dump(mode="json") for r in records))
