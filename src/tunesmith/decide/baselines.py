"""Answer the decision's questions one way (a baseline) and score the answers.

Answers come from the one generator (``inference.generate``: greedy, batched, with the guard's
``no_answer_threshold`` as eval applies it) and are scored as eval scores them
(``evaluate.harness.score_predictions``: SQuAD 2.0 EM/F1, hallucination and false-abstain
rates). Besides: BLEU and ROUGE-L where the references are long, the latency of answering one
question at a time (p50/p95, in ms), the tokens per answer (prompt and reply) that an API
would bill, and the share of replies in the expected format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, read_records
from tunesmith.errors import TunesmithError
from tunesmith.evaluate.harness import score_predictions
from tunesmith.guard.no_answer import no_answer_threshold
from tunesmith.inference import Generation, Predictor, generate
from tunesmith.metrics.overlap import bleu, mean_words, rouge_l
from tunesmith.utils.layout import RunLayout
from tunesmith.utils.text import normalize_answer

# eval's scores that the decision keeps per baseline (SQuAD 2.0's names)
KEPT = ("exact", "f1", "HasAns_f1", "NoAns_f1", "hallucination_rate", "false_abstain_rate")


@dataclass
class Answered:
    """One baseline's scores and its answer to each question."""

    name: str
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]


def decision_questions(config: RunConfig, layout: RunLayout) -> list[QARecord]:
    """The first ``decide.max_questions`` records of the ``decide.split`` split."""
    split = config.decide.split
    path = layout.split(split)
    if not path.exists():
        raise TunesmithError(f"{path}: no {split} split; build the data first "
                             "(`tunesmith data build CONFIG`)")
    records = read_records(path)[: config.decide.max_questions]
    if not records:
        raise TunesmithError(f"{path}: the {split} split has no questions (decide.split)")
    return records


def retrieval_questions(records: Sequence[QARecord]) -> list[QARecord]:
    """The questions the RAG baselines answer: all but the negatives made by pairing a
    question with another document's context (provenance ``mismatch``). Retrieval finds that
    question's own document, where it has an answer the record does not hold."""
    return [r for r in records if r.provenance.get("generator") != "mismatch"]


def longest_reference_words(records: Sequence[QARecord]) -> int:
    return max([len(a.split()) for r in records for a in r.references] or [1])


def format_adherence(replies: Sequence[str], abstain_text: str, max_words: int) -> float:
    """The share of replies that are the abstention phrase alone, or an answer of at most
    ``max_words`` words that does not mix in the phrase."""
    phrase = abstain_text.strip()

    def adheres(reply: str) -> bool:
        text = reply.strip()
        return text == phrase or (phrase not in text and 0 < len(text.split()) <= max_words)

    return sum(adheres(r) for r in replies) / len(replies) if replies else 0.0


def knows_answer(record: QARecord, reply: str) -> bool:
    """Closed book: the reply holds a reference answer (all its words, in order, after SQuAD's
    normalisation), so a full-sentence reply that states the fact counts."""
    said = f" {normalize_answer(reply)} "
    return any(normalize_answer(a) and f" {normalize_answer(a)} " in said
               for a in record.references)


def _ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds, dtype=float) * 1000.0, q)) if seconds else 0.0


def answer(predictor: Predictor, prompts: Sequence[str], config: RunConfig, max_new_tokens: int,
           description: str, console: Console | None, *, batch_size: int | None = None,
           abstain: bool = True) -> list[Generation]:
    """Greedy replies to rendered ``prompts`` (eval's abstention threshold when ``abstain``)."""
    guard = config.guard
    return generate(predictor.model, predictor.tokenizer, prompts, max_new_tokens,
                    batch_size or config.decide.batch_size,
                    abstain_text=guard.abstain_text if abstain else None,
                    no_answer_threshold=no_answer_threshold(guard, predictor) if abstain else None,
                    description=description, console=console)


def run_baseline(name: str, predictor: Predictor, records: Sequence[QARecord],
                 prompts: Sequence[str], config: RunConfig, *, max_new_tokens: int,
                 max_words: int, parse: Callable[[str], tuple[str, bool]] | None = None,
                 console: Console | None = None) -> Answered:
    """Answer ``records`` with ``prompts``, time a few alone, and score."""
    decide, guard = config.decide, config.guard
    replies = answer(predictor, prompts, config, max_new_tokens, f"{name} ({predictor.label})",
                     console)
    n = min(decide.latency_questions, len(prompts))
    timed = replies if decide.batch_size == 1 else answer(
        predictor, prompts[:n], config, max_new_tokens, f"{name}: latency, one at a time",
        console, batch_size=1)
    parsed = [parse(g.text) if parse else (g.text, True) for g in replies]
    score = score_predictions(records, [p for p, _ in parsed], guard, name)
    metrics: dict[str, Any] = {k: score.metrics[k] for k in KEPT if k in score.metrics}
    seconds = [g.seconds for g in timed]
    prompt_tokens = [len(predictor.tokenizer(p, add_special_tokens=False)["input_ids"])
                     for p in prompts]
    metrics.update({
        "questions": len(records), "p50_ms": _ms(seconds, 50), "p95_ms": _ms(seconds, 95),
        "latency_questions": len(seconds),
        "prompt_tokens": float(np.mean(prompt_tokens)),
        "answer_tokens": float(np.mean([g.tokens for g in replies])),
        "format_adherence": format_adherence(
            [p if ok else "" for p, ok in parsed], guard.abstain_text, max_words),
    })
    if parse is not None:
        metrics["final_answer_rate"] = sum(ok for _, ok in parsed) / len(parsed)
    references = [r.references for r in records]
    if mean_words(references) > decide.long_answer_words:
        predictions = [row["prediction"] for row in score.rows]
        metrics["bleu"] = bleu(predictions, references)
        metrics["rouge_l"] = rouge_l(predictions, references)
    rows = [{**row, "baseline": name, "reply": g.text}
            for row, g in zip(score.rows, replies, strict=True)]
    return Answered(name, metrics, rows)
