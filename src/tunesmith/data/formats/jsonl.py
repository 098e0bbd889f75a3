"""Training formats, one JSON object per line: the seed's prompt/completion, chat messages,
Alpaca and ShareGPT. The user turn is the layout training uses (``models/chat.py``), and an
unanswerable record's target is the guard's abstention text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunesmith.config.guard import GuardConfig
from tunesmith.data.formats.base import exporter
from tunesmith.data.formats.examples import target_text
from tunesmith.data.schema import QARecord
from tunesmith.models.chat import build_messages, format_user_message
from tunesmith.utils.io import write_jsonl_atomic


@exporter("prompt", "JSONL {prompt: 'Context: ...\\nQuestion: ...', completion} (the seed's)")
def export_prompt(records: Sequence[QARecord], out: Path, guard: GuardConfig) -> int:
    # seed: {"prompt": "Context: [text]\nQuestion: [query]", "completion": "[answer]"}
    return write_jsonl_atomic(out, ({
        "prompt": format_user_message(r.context, r.question),
        "completion": target_text(r, guard),
    } for r in records))


def chat_messages(record: QARecord, guard: GuardConfig) -> list[dict[str, str]]:
    return [*build_messages(record.context, record.question, guard.system_message()),
            {"role": "assistant", "content": target_text(record, guard)}]


@exporter("chat", "JSONL {messages: [system, user, assistant]} (OpenAI / TRL chat)")
def export_chat(records: Sequence[QARecord], out: Path, guard: GuardConfig) -> int:
    return write_jsonl_atomic(out, ({"messages": chat_messages(r, guard)} for r in records))


@exporter("alpaca", "JSONL {instruction, input, output} (Alpaca)")
def export_alpaca(records: Sequence[QARecord], out: Path, guard: GuardConfig) -> int:
    return write_jsonl_atomic(out, ({
        "instruction": guard.system_message(),
        "input": format_user_message(r.context, r.question),
        "output": target_text(r, guard),
    } for r in records))


_SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


@exporter("sharegpt", "JSONL {id, conversations: [{from, value}]} (ShareGPT)")
def export_sharegpt(records: Sequence[QARecord], out: Path, guard: GuardConfig) -> int:
    def row(r: QARecord) -> dict[str, Any]:
        return {"id": r.id, "conversations": [
            {"from": _SHAREGPT_ROLES[m["role"]], "value": m["content"]}
            for m in chat_messages(r, guard)]}

    return write_jsonl_atomic(out, (row(r) for r in records))
