"""``guard.no_answer_threshold``: when a causal LM abstains, and ``auto``, its calibration.

The decoding rule (``inference.generate``): the model abstains only when its own probability of
the whole abstention reply, ``p_no_answer``, reaches the threshold; a greedy abstention below it
is generated again with the abstention's first token suppressed. A fixed number suits a model
whose probabilities are calibrated; a small model after a short LoRA is not (on the quickstart
the answerable and unanswerable questions overlap around 0.5-0.9), so ``auto`` chooses the
threshold per model on the validation split, the way SQuAD 2.0's official script chooses its
``best_f1_thresh`` on a no-answer score: the threshold that gives the highest F1 there.

The eval stage calibrates (:func:`calibrate_no_answer`) before it answers, writes the choice to
``eval/no_answer_threshold.json``, and every later reader of the run (``answer``, ``serve``,
``decide``) gets it from :func:`load_predictor`'s ``Predictor.no_answer_threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console

from tunesmith.config import GuardConfig, RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.data.schema import QARecord
from tunesmith.guard.calibration_set import calibration_set
from tunesmith.inference import Predictor, generate_answers
from tunesmith.metrics.squad_v2 import SquadExample, get_raw_scores, normalize_answer
from tunesmith.utils.io import read_json, write_json_atomic
from tunesmith.utils.layout import RunLayout

FALLBACK_THRESHOLD = 0.5
"""``auto`` before any calibration (no validation split, or a run not yet evaluated): abstain
when the abstention reply is likelier than not."""
ABSTAIN_MARKERS = ("INSUFFICIENT_CONTEXT",)
_ALWAYS = 1.0 - 1e-9  # a threshold no greedy abstention reaches: every one is generated again


def as_squad_prediction(text: str, guard: GuardConfig) -> str:
    """The abstention text (or an empty answer) becomes SQuAD's no-answer prediction ''."""
    stripped = text.strip()
    markers = (guard.abstain_text, *ABSTAIN_MARKERS)
    if not normalize_answer(stripped) or any(m in stripped for m in markers):
        return ""
    return stripped


def no_answer_threshold(guard: GuardConfig, predictor: Predictor | None = None) -> float | None:
    """The threshold to decode with: the configured number (or None: greedy decides alone);
    with ``auto``, the one calibrated for this predictor, else :data:`FALLBACK_THRESHOLD`."""
    value = guard.no_answer_threshold
    if not is_auto(value):
        return value
    calibrated = predictor.no_answer_threshold if predictor is not None else None
    return calibrated if calibrated is not None else FALLBACK_THRESHOLD


@dataclass(frozen=True)
class NoAnswerCalibration:
    """The chosen threshold and the evidence for it."""

    threshold: float
    split: str
    questions: int
    f1: float  # on the split, at the threshold (SQuAD 2.0 F1, 0-100)
    f1_at_fallback: float  # on the split, at FALLBACK_THRESHOLD
    greedy_abstentions: int  # of the split's questions, the greedy reply was the abstention

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mean_f1_at(threshold: float, p_no_answer: Sequence[float], greedy_abstained: Sequence[bool],
               f1_answered: Sequence[float], f1_abstained: Sequence[float]) -> float:
    """Mean F1 (0-1) at ``threshold`` under the decoding rule: question ``i`` abstains (F1
    ``f1_abstained[i]``) when its greedy reply was the abstention and ``p_no_answer[i]`` reaches
    the threshold, else it is answered (F1 ``f1_answered[i]``)."""
    return sum(ab if (g and p >= threshold) else an for p, g, an, ab in
               zip(p_no_answer, greedy_abstained, f1_answered, f1_abstained, strict=True)
               ) / len(p_no_answer)


def choose_threshold(p_no_answer: Sequence[float], greedy_abstained: Sequence[bool],
                     f1_answered: Sequence[float], f1_abstained: Sequence[float],
                     ) -> tuple[float, float]:
    """The threshold with the highest mean F1, and that F1 (0-1).

    Each threshold is scored by :func:`mean_f1_at` (the decoding rule of
    ``inference.generate``). The candidates lie midway between consecutive
    probabilities of the greedy abstentions (and beyond both ends), so the choice does not sit
    on a validation point; among equally good ones, the nearest to 0.5 wins.
    """
    n = len(p_no_answer)
    if not n or not (n == len(greedy_abstained) == len(f1_answered) == len(f1_abstained)):
        raise ValueError("choose_threshold: give one value of each per question (at least one)")
    points = sorted({p for p, g in zip(p_no_answer, greedy_abstained, strict=True) if g})
    if not points:  # the model never abstains here: no threshold changes anything
        return FALLBACK_THRESHOLD, sum(f1_answered) / n
    cuts = [points[0] / 2, *((a + b) / 2 for a, b in zip(points, points[1:], strict=False)),
            (points[-1] + 1.0) / 2]
    cuts = [min(max(c, 1e-6), 1 - 1e-6) for c in cuts]
    scored = [(mean_f1_at(t, p_no_answer, greedy_abstained, f1_answered, f1_abstained),
               -abs(t - FALLBACK_THRESHOLD), t) for t in cuts]
    best_f1, _, best_t = max(scored)
    return best_t, best_f1


def calibrate_no_answer(config: RunConfig, predictor: Predictor, records: Sequence[QARecord],
                        split: str, console: Console | None = None) -> NoAnswerCalibration:
    """Answer ``records`` twice as the decoding rule would at any threshold (greedy with
    ``p_no_answer``; each greedy abstention again, made to answer) and choose the threshold
    with :func:`choose_threshold`."""
    guard = config.guard
    questions = [r.question for r in records]
    contexts = [r.context for r in records]
    first = generate_answers(predictor, questions, contexts, guard.system_message(),
                             config.eval.max_new_tokens, config.eval.batch_size, scores=True,
                             abstain_text=guard.abstain_text, console=console,
                             description=f"calibrating abstention ({predictor.label}, {split})")
    abstained = [g.text.strip().startswith(guard.abstain_text.strip()) for g in first]
    again = [i for i, a in enumerate(abstained) if a]
    answered = [g.text for g in first]
    if again:
        forced = generate_answers(predictor, [questions[i] for i in again],
                                  [contexts[i] for i in again], guard.system_message(),
                                  config.eval.max_new_tokens, config.eval.batch_size,
                                  abstain_text=guard.abstain_text, no_answer_threshold=_ALWAYS,
                                  console=console,
                                  description=f"calibrating: answering ({predictor.label})")
        for i, g in zip(again, forced, strict=True):
            answered[i] = g.text

    # per-question F1 as the official script scores it (ids are unique within a split)
    examples = [SquadExample(r.id, r.references) for r in records]
    _, if_answered = get_raw_scores(examples, {r.id: as_squad_prediction(a, guard)
                                               for r, a in zip(records, answered, strict=True)})
    _, if_abstained = get_raw_scores(examples, dict.fromkeys(if_answered, ""))
    f1_answered = [if_answered[r.id] for r in records]
    f1_abstained = [if_abstained[r.id] for r in records]
    p = [g.p_no_answer if g.p_no_answer is not None else 0.0 for g in first]
    threshold, best = choose_threshold(p, abstained, f1_answered, f1_abstained)
    at_fallback = mean_f1_at(FALLBACK_THRESHOLD, p, abstained, f1_answered, f1_abstained)
    return NoAnswerCalibration(threshold=round(threshold, 6), split=split,
                               questions=len(records), f1=round(100 * best, 4),
                               f1_at_fallback=round(100 * at_fallback, 4),
                               greedy_abstentions=len(again))


def calibrate_for_eval(config: RunConfig, layout: RunLayout, predictor: Predictor,
                       console: Console | None = None) -> NoAnswerCalibration | None:
    """With ``guard.no_answer_threshold: auto`` and a causal LM: calibrate ``predictor`` on the
    validation split, set its ``no_answer_threshold`` and record the choice in
    ``eval/no_answer_threshold.json`` (beside the other models' choices). None otherwise, and
    when the run has no validation records (the fallback 0.5 is used; the console says so)."""
    if not is_auto(config.guard.no_answer_threshold) or predictor.kind != "causal_lm":
        return None
    chosen_on = calibration_set(config, layout)
    records, split = chosen_on.records, chosen_on.name
    if not records:
        if console is not None:
            console.print(f"  eval: guard.no_answer_threshold is auto but {chosen_on.path} has no"
                          f" records; {predictor.label} abstains at {FALLBACK_THRESHOLD}")
        return None
    result = calibrate_no_answer(config, predictor, records, split, console)
    predictor.no_answer_threshold = result.threshold
    saved = layout.no_answer_thresholds
    choices = read_json(saved) if saved.exists() else {}
    choices[predictor.label] = result.to_json()
    write_json_atomic(saved, choices)
    if console is not None:
        console.print(f"  eval: {predictor.label}: abstains at p(no answer) ≥ "
                      f"{result.threshold:.3f}, chosen on {split} ({result.questions} questions:"
                      f" F1 {result.f1:.2f}, against {result.f1_at_fallback:.2f} at "
                      f"{FALLBACK_THRESHOLD})")
    return result
