"""Abstention metrics: did the model abstain where it should, and how risky is what it answers?

- abstention precision / recall / F1, with "should abstain" (an unanswerable question) as the
  positive class and "abstained" (an empty prediction) as the predicted positive;
- hallucination rate: the share of unanswerable questions that got an answer anyway;
- false-abstain rate: the share of answerable questions the model abstained on;
- the coverage-risk curve (selective prediction, El-Yaniv and Wiener, 2010): answer the
  questions in order of increasing no-answer score; at each coverage the risk is 1 - mean F1 of
  what was answered (an answer to an unanswerable question scores 0). AURC is its area
  (Geifman et al., 2019): lower is better;
- expected calibration error and the reliability-diagram bins (Guo et al., 2017).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunesmith.metrics.squad_v2 import SquadExample, get_raw_scores


def abstention_scores(
    examples: Sequence[SquadExample], predictions: Mapping[str, str]
) -> dict[str, float]:
    """Precision, recall and F1 of abstaining (positive = unanswerable; percentages, as the
    SQuAD 2.0 scores are), and the hallucination, false-abstain and answered rates (shares of
    the questions concerned, 0 to 1)."""
    tp = fp = fn = tn = 0
    for ex in examples:
        should = not ex.has_answer
        did = not predictions[ex.qid].strip()
        tp += should and did
        fp += did and not should
        fn += should and not did
        tn += not should and not did
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    unanswerable, answerable = tp + fn, fp + tn
    return {
        "abstain_precision": 100.0 * precision,
        "abstain_recall": 100.0 * recall,
        "abstain_f1": 100.0 * f1,
        "abstained": float(tp + fp),
        "hallucination_rate": fn / unanswerable if unanswerable else 0.0,
        "false_abstain_rate": fp / answerable if answerable else 0.0,
        "answered_rate": (fn + tn) / max(1, len(examples)),
    }


def coverage_risk(
    examples: Sequence[SquadExample],
    predictions: Mapping[str, str],
    na_scores: Mapping[str, float],
) -> dict[str, Any]:
    """The coverage-risk curve of answering in order of ``na_scores`` (low first), and AURC.

    ``predictions`` are the model's answers before any abstention; an empty one counts as
    answered-with-nothing (F1 1 on an unanswerable question, 0 on an answerable one).
    """
    _, f1 = get_raw_scores(examples, predictions)
    order = sorted((ex.qid for ex in examples), key=lambda q: na_scores[q])
    coverage: list[float] = []
    risk: list[float] = []
    correct = 0.0
    for i, qid in enumerate(order, start=1):
        correct += f1[qid]
        coverage.append(i / len(order))
        risk.append(1.0 - correct / i)
    aurc = sum(risk) / len(risk) if risk else 0.0
    return {"coverage": coverage, "risk": risk, "aurc": aurc}


def threshold_at_risk(
    examples: Sequence[SquadExample],
    predictions: Mapping[str, str],
    na_scores: Mapping[str, float],
    target_risk: float,
) -> tuple[float | None, float, float]:
    """The highest no-answer threshold whose answered set keeps risk <= ``target_risk``.

    Returns (threshold, coverage, risk); threshold None when no coverage meets the target
    (abstain everywhere). A question is answered when its score is <= the threshold.
    """
    curve = coverage_risk(examples, predictions, na_scores)
    order = sorted((ex.qid for ex in examples), key=lambda q: na_scores[q])
    best: tuple[float | None, float, float] = (None, 0.0, 0.0)
    for i, (cov, r) in enumerate(zip(curve["coverage"], curve["risk"], strict=True)):
        ties_follow = i + 1 < len(order) and na_scores[order[i + 1]] == na_scores[order[i]]
        if r <= target_risk and not ties_follow:
            best = (na_scores[order[i]], cov, r)
    return best


def calibration_bins(
    confidences: Sequence[float], correct: Sequence[float], bins: int = 10
) -> dict[str, Any]:
    """Reliability-diagram bins (equal width on [0, 1]) and the expected calibration error."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and correctness differ in length")
    rows = []
    ece = 0.0
    n = len(confidences)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences)
               if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not idx:
            rows.append({"lo": lo, "hi": hi, "count": 0, "confidence": None, "accuracy": None})
            continue
        conf = sum(confidences[i] for i in idx) / len(idx)
        acc = sum(correct[i] for i in idx) / len(idx)
        ece += len(idx) / n * abs(acc - conf)
        rows.append({"lo": lo, "hi": hi, "count": len(idx), "confidence": conf, "accuracy": acc})
    return {"bins": rows, "ece": ece}
