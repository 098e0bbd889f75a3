"""Generate answers on the evaluation set with the base and the tuned model, and score both.

The evaluation set is ``eval.dataset`` when set (a SQuAD JSON or QA-record JSONL file), else the
run's ``eval.split`` (``evaluate.guarded.load_eval_records``, the one loader of every path).
Models load and answer through ``tunesmith.inference`` (device, ``eval.load_in``, batching).
Scoring follows the SQuAD 2.0 definitions: a prediction of the abstention text (or nothing)
counts as the empty "no answer" prediction. Besides the SQuAD 2.0 dict, each model's metrics
hold the abstention scores, among them ``hallucination_rate`` (the share of unanswerable
questions answered) and ``false_abstain_rate`` (the share of answerable ones abstained on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import GuardConfig, RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.data.schema import QARecord
from tunesmith.evaluate.guarded import load_eval_records
from tunesmith.guard.no_answer import (
    FALLBACK_THRESHOLD,
    NoAnswerCalibration,
    as_squad_prediction,
    calibrate_for_eval,
    no_answer_threshold,
)
from tunesmith.inference import Generation, Predictor, generate_answers, load_predictor
from tunesmith.metrics.abstention import abstention_scores
from tunesmith.metrics.squad_v2 import (
    SquadExample,
    get_raw_scores,
    squad_v2_scores,
)
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic
from tunesmith.utils.layout import RunLayout
from tunesmith.utils.text import normalize_context


def answer_records(predictor: Predictor, records: Sequence[QARecord], config: RunConfig,
                   console: Console | None = None) -> list[Generation]:
    """The predictor's raw answers to ``records`` (the one generator, greedy, batched), each
    with the model's probability of its abstention reply when a threshold decides on it."""
    return generate_answers(predictor, [r.question for r in records],
                               [r.context for r in records], config.guard.system_message(),
                               config.eval.max_new_tokens, config.eval.batch_size,
                               abstain_text=config.guard.abstain_text,
                               no_answer_threshold=no_answer_threshold(config.guard, predictor),
                               console=console)


@dataclass
class ModelScore:
    metrics: dict[str, Any]
    rows: list[dict[str, Any]]


def _threshold_source(config: RunConfig, chosen: NoAnswerCalibration | None) -> str:
    value = config.guard.no_answer_threshold
    if chosen is not None:
        return (f"{chosen.split} ({chosen.questions} questions, F1 {chosen.f1:.2f} against "
                f"{chosen.f1_at_fallback:.2f} at {FALLBACK_THRESHOLD})")
    if is_auto(value):
        return f"fallback {FALLBACK_THRESHOLD} (no validation records)"
    return "config" if value is not None else "none: greedy decoding decides"


def context_excerpt(context: str, limit: int = 300) -> str:
    """The start of the context as the model saw it (normalised), for reports."""
    text = normalize_context(context)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def score_predictions(
    records: Sequence[QARecord], raw_answers: Sequence[str], guard: GuardConfig, label: str,
    p_no_answer: Sequence[float | None] | None = None,
) -> ModelScore:
    """SQuAD 2.0 and abstention metrics of ``raw_answers``, and one row per question; with
    ``p_no_answer`` each row also holds the model's probability of abstaining (the evidence
    a no-answer threshold decided on)."""
    examples = [SquadExample(r.id, r.references) for r in records]
    predictions = {
        r.id: as_squad_prediction(a, guard) for r, a in zip(records, raw_answers, strict=True)
    }
    metrics: dict[str, Any] = dict(squad_v2_scores(examples, predictions))
    metrics.update(abstention_scores(examples, predictions))
    exact, f1 = get_raw_scores(examples, predictions)  # per question, as the official script
    rows = []
    for i, (record, raw) in enumerate(zip(records, raw_answers, strict=True)):
        prediction = predictions[record.id]
        row: dict[str, Any] = {
            "id": record.id,
            "model": label,
            "kind": record.kind,
            "question": record.question,
            "context": context_excerpt(record.context),
            "answers": record.references,
            "generated": raw,
            "prediction": prediction,
            "exact": exact[record.id],
            "f1": f1[record.id],
        }
        if p_no_answer is not None and p_no_answer[i] is not None:
            row["p_no_answer"] = round(float(p_no_answer[i]), 6)  # type: ignore[arg-type]
        rows.append(row)
    return ModelScore(metrics, rows)


def evaluate_run(config: RunConfig, run: RunLayout | Path,
                 console: Console | None = None) -> dict[str, dict[str, Any]]:
    """Score each model of ``eval.compare`` on the evaluation set; writes eval/metrics.json
    and eval/predictions.jsonl."""
    layout = run if isinstance(run, RunLayout) else RunLayout(run)
    records, source = load_eval_records(config, layout)
    results: dict[str, dict[str, Any]] = {}
    all_rows: list[dict[str, Any]] = []
    for label in config.eval.compare:
        predictor = load_predictor(config, layout, label)
        chosen = calibrate_for_eval(config, layout, predictor, console)  # with auto
        answers = answer_records(predictor, records, config, console)
        threshold = no_answer_threshold(config.guard, predictor)
        del predictor  # one model in memory at a time
        score = score_predictions(records, [a.text for a in answers], config.guard, label,
                                  [a.p_no_answer for a in answers])
        results[label] = {**score.metrics, "eval_set": source,
                          "no_answer_threshold": threshold,
                          "no_answer_threshold_from": _threshold_source(config, chosen)}
        all_rows.extend(score.rows)
    write_jsonl_atomic(layout.predictions, all_rows)
    write_json_atomic(layout.eval_metrics, results)
    return results
