"""The prompts of the prompting baselines, all rendered by the model's own chat template.

- zero-shot: the prompt the tuned model will get (``inference.build_prompts``: the guard's
  system message, ``Context: ...\\nQuestion: ...``);
- few-shot: the same, after ``k`` worked examples from the training split as earlier turns of
  the conversation (Brown et al., 2020);
- chain-of-thought: the same, asked to reason first and to end with an ``Answer:`` line, which
  :func:`final_answer` reads (Wei et al., 2022; Kojima et al., 2022's "step by step");
- closed book: the question alone, no context: what the base model already knows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from tunesmith.data.schema import QARecord
from tunesmith.inference import build_prompts
from tunesmith.models.chat import build_messages

COT_INSTRUCTION = (
    "Think step by step: first say briefly what the context states about the question, then "
    "give the final answer on its own last line as 'Answer: <the shortest answer>', or "
    "'Answer: {abstain}' when the context does not say.")
CLOSED_BOOK_SYSTEM = "Answer the question with a short answer."
_FINAL_LINE = re.compile(r"^\W*(?:final\s+)?answer\W*:\s*(.*?)\s*$", re.IGNORECASE | re.MULTILINE)


def _render(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    rendered: str = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                  tokenize=False)
    return rendered


def zero_shot_prompts(tokenizer: Any, records: Sequence[QARecord], system: str) -> list[str]:
    return build_prompts(tokenizer, [r.question for r in records], [r.context for r in records],
                         system)


def choose_shots(train: Sequence[QARecord], k: int, seed: int) -> list[QARecord]:
    """``k`` worked examples from the training split, drawn with ``seed``: original questions
    (no augmented copies), the unanswerable ones in their training share (at least one when
    k >= 2, so the abstention reply is shown), answerable ones with their answer."""
    originals = [r for r in train if "augment" not in r.provenance]
    pool = originals or list(train)
    answerable = [r for r in pool if r.answerable]
    unanswerable = [r for r in pool if not r.answerable]
    share = len(unanswerable) / len(pool) if pool else 0.0
    n_neg = min(len(unanswerable), max(1 if k >= 2 else 0, round(k * share)))
    rng = random.Random(seed)
    shots = (rng.sample(answerable, min(k - n_neg, len(answerable)))
             + rng.sample(unanswerable, n_neg))
    rng.shuffle(shots)
    return shots


def few_shot_prompts(tokenizer: Any, records: Sequence[QARecord], system: str,
                     shots: Sequence[QARecord], abstain_text: str) -> list[str]:
    """Each question after the same worked examples, given as earlier user/assistant turns."""
    examples: list[dict[str, str]] = []
    for shot in shots:
        examples += build_messages(shot.context, shot.question, "")
        examples.append({"role": "assistant", "content": shot.answer or abstain_text})
    prompts = []
    for record in records:
        *head, question = build_messages(record.context, record.question, system)
        prompts.append(_render(tokenizer, [*head, *examples, question]))
    return prompts


def cot_prompts(tokenizer: Any, records: Sequence[QARecord], system: str,
                abstain_text: str) -> list[str]:
    instruction = COT_INSTRUCTION.replace("{abstain}", abstain_text)
    return zero_shot_prompts(tokenizer, records, f"{system} {instruction}".strip())


def final_answer(reply: str) -> tuple[str, bool]:
    """The chain-of-thought's answer: what follows the last ``Answer:`` line, and whether there
    was one (without it the whole reply is the answer, as a user would read it)."""
    found = _FINAL_LINE.findall(reply)
    return (found[-1], True) if found else (reply.strip(), False)


def closed_book_prompts(tokenizer: Any, records: Sequence[QARecord]) -> list[str]:
    return [_render(tokenizer, [{"role": "system", "content": CLOSED_BOOK_SYSTEM},
                                {"role": "user", "content": r.question}]) for r in records]
