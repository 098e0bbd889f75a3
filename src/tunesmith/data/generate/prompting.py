"""What the model-backed generators (``llm``, ``hf``) ask for, and how a reply is checked.

seed: "Generate 10 QA pairs from this context: [Your Text Here] Include 2 unanswerable
questions". The prompt is the seed's, with N (``data.generate.per_context``) and M (the
generator's own ``unanswerable_per_context``: ``data.generate.llm`` or ``data.generate.hf``),
plus the JSON shape the reply must take. A reply is parsed (code fences and text around the
JSON are tolerated), validated against :class:`QAPairs`, and each pair becomes a record only if
its answer is an exact span of the context (or null: an unanswerable question on this
context); anything else is rejected with the reason.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunesmith.data.chunk import Context
from tunesmith.data.generate.base import span_record
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.utils.hashing import sha256_bytes

SYSTEM = (
    "You write question-answer pairs for training a reading-comprehension model. Answers are "
    "copied verbatim from the context. Reply with JSON only."
)
QA_PROMPT = """Generate {n} QA pairs from this context: {context}
Include {m} unanswerable questions (questions about the context's subject that the context does \
not answer; their answer is null).

Reply with JSON only, in this shape:
{{"pairs": [{{"question": "...", "answer": "a short span copied exactly from the context, or \
null"}}]}}"""
PARAPHRASE_PROMPT = """Paraphrase this question {n} different ways. Keep its meaning; do not \
answer it.
Question: {question}

Reply with JSON only, in this shape: {{"paraphrases": ["...", "..."]}}"""


class InvalidReply(ValueError):
    """A model reply that is not the JSON asked for."""


class QAPair(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=3)
    answer: str | None = None


class QAPairs(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pairs: list[QAPair]


class Paraphrases(BaseModel):
    model_config = ConfigDict(extra="ignore")

    paraphrases: list[str]


def qa_prompt(context: str, n: int, m: int) -> str:
    return QA_PROMPT.format(n=n, m=m, context=context)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json(text: str) -> object:
    """The JSON value in a reply: the whole text, a fenced block, or the outermost {...}."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise InvalidReply(f"no JSON object in the reply ({text[:80]!r}...)")


def parse_pairs(text: str) -> QAPairs:
    """A reply validated against :class:`QAPairs` (a bare list of pairs is accepted too)."""
    value = parse_json(text)
    if isinstance(value, list):
        value = {"pairs": value}
    try:
        return QAPairs.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidReply(
            f"reply does not match the schema at '{where}': {first['msg']}"
        ) from None


def parse_paraphrases(text: str) -> list[str]:
    value = parse_json(text)
    if isinstance(value, list):
        value = {"paraphrases": value}
    try:
        return Paraphrases.model_validate(value).paraphrases
    except ValidationError as exc:
        raise InvalidReply(f"reply does not match the schema: {exc.errors()[0]['msg']}") from None


def pairs_to_records(
    context: Context, pairs: QAPairs, generator: str, limit: int, **provenance: object
) -> tuple[list[QARecord], list[Rejection]]:
    """Records for the pairs whose answer is a span of the context (or null); the rest are
    rejected with the reason. At most ``limit`` answerable records."""
    records: list[QARecord] = []
    rejected: list[Rejection] = []
    answerable = 0
    for pair in pairs.pairs:
        if pair.answer is None or not pair.answer.strip():
            records.append(QARecord(
                id="u_" + sha256_bytes(f"{context.id}|{pair.question}".encode())[:12],
                question=" ".join(pair.question.split()), contexts=[context.text], answer=None,
                kind="unanswerable", difficulty="simple", source_doc_ids=[context.doc_id],
                provenance={"generator": generator, "context_id": context.id,
                            "written_unanswerable": True, **provenance},
            ))
            continue
        record = span_record(context, pair.question, pair.answer, None, generator, **provenance)
        if record is None:
            placeholder = QARecord(
                id="x_" + sha256_bytes(f"{context.id}|{pair.question}".encode())[:12],
                question=pair.question, contexts=[context.text], answer=None, kind="unanswerable",
                source_doc_ids=[context.doc_id],
                provenance={"generator": generator, "context_id": context.id,
                            "claimed_answer": pair.answer},
            )
            rejected.append(Rejection(placeholder, "generate",
                                      f"{generator}: answer {pair.answer!r} is not a span of "
                                      "the context"))
            continue
        if answerable < limit:
            records.append(record)
            answerable += 1
    return records, rejected


def skipped_context(context: Context, generator: str, reason: str) -> Rejection:
    """A context the generator gave up on, as a rejection (the record names the context)."""
    record = QARecord(
        id="x_" + sha256_bytes(f"{context.id}|skipped".encode())[:12],
        question=f"(no questions generated for context {context.id})", contexts=[context.text],
        answer=None, kind="unanswerable", source_doc_ids=[context.doc_id],
        provenance={"generator": generator, "context_id": context.id},
    )
    return Rejection(record, "generate", f"{generator}: context skipped: {reason}")

