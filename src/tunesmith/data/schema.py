"""``QARecord``: the one shape every Q&A example takes inside tunesmith."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunesmith.utils.io import DataFileError, enumerate_jsonl, write_jsonl_atomic

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


def read_records(path: Path) -> list[QARecord]:
    """Load QA records from JSON Lines; a bad record names the file, line and key."""
    records = []
    for number, row in enumerate_jsonl(path):
        try:
            records.append(QARecord.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "<record>"
            raise DataFileError(f"{path}:{number}: key '{key}': {first['msg']}") from None
    return records


def write_records(path: Path, records: Iterable[QARecord]) -> int:
    return write_jsonl_atomic(path, (r.model_dump(mode="json") for r in records))
