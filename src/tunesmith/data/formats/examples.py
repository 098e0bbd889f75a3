"""QA records -> the conversational prompt/completion examples that training and the planner
tokenize (TRL's dataset format); the exporters of ``jsonl.py`` share the target."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tunesmith.config.guard import GuardConfig
from tunesmith.data.schema import QARecord
from tunesmith.models.chat import INSTRUCTION_FORMAT, build_instruction_messages, build_messages


def target_text(record: QARecord, guard: GuardConfig) -> str:
    """What the model should say: the answer span, or the abstention text."""
    return record.answer if record.answer is not None else guard.abstain_text


def to_prompt_completion(record: QARecord, guard: GuardConfig) -> dict[str, Any]:
    """Loss falls on the completion only (TRL's ``completion_only_loss``). A general instruction
    (replay against forgetting) keeps the plain chat format it was answered in."""
    if record.provenance.get("format") == INSTRUCTION_FORMAT:
        prompt = build_instruction_messages(record.question)
    else:
        prompt = build_messages(record.context, record.question, guard.system_message())
    return {
        "prompt": prompt,
        "completion": [{"role": "assistant", "content": target_text(record, guard)}],
    }


def to_examples(records: Iterable[QARecord], guard: GuardConfig) -> list[dict[str, Any]]:
    return [to_prompt_completion(r, guard) for r in records]
