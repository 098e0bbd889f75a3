"""Choose each gate's threshold on the validation split, and show the seed defaults beside them.

Gates are calibrated one after another, in order: each sees the questions the gates before it
already turned away, and its threshold is the one that maximises SQuAD 2.0 F1 (the official
best-threshold sweep: answer where the gate's abstain score is at or below the threshold) or,
with ``objective: risk``, the widest coverage whose risk stays at or below the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunesmith.config import GuardConfig
from tunesmith.guard.decide import ThresholdSource, confidence_score, decide
from tunesmith.guard.gates import GATES, Gate, Signals
from tunesmith.metrics.abstention import calibration_bins, threshold_at_risk
from tunesmith.metrics.squad_v2 import SquadExample, get_raw_scores, squad_v2_scores

NEVER = -1e30  # the abstain score of a question a gate has no signal for


def default_gates(task: str, has_rejection_head: bool) -> list[str]:
    """Every gate that can fire for this task, most informative first (each gate's ``rank``)."""
    gates = sorted((GATES.get(name) for name in GATES.names()), key=lambda gate: gate.rank)
    return [gate.name for gate in gates if gate.applies(task, has_rejection_head)]


def gated_predictions(
    ids: Sequence[str],
    signals: Sequence[Signals],
    gates: Sequence[str],
    thresholds: Mapping[str, float],
    guard: GuardConfig,
) -> dict[str, str]:
    """SQuAD predictions after the gates: '' wherever the guard abstains."""
    out = {}
    for qid, s in zip(ids, signals, strict=True):
        result = decide(s, gates, thresholds, guard.abstain_text)
        out[qid] = "" if result.rejection_flag else (result.answer or "")
    return out


def _abstain_scores(gate: Gate, signals: Sequence[Signals], ids: Sequence[str]) -> dict[str, float]:
    scores = {}
    for qid, s in zip(ids, signals, strict=True):
        value = gate.abstain_score(gate.value(s))
        scores[qid] = NEVER if value is None or math.isnan(value) else value
    return scores


def best_f1_threshold(
    examples: Sequence[SquadExample], preds: Mapping[str, str], na: Mapping[str, float]
) -> tuple[float, float]:
    """(threshold on the abstain score, F1 x100): answer where score <= threshold.

    The official sweep's walk (start from abstaining everywhere, add questions by increasing
    score), except that ties are taken together and "abstain everywhere" stays possible.
    """
    _, f1 = get_raw_scores(examples, preds)
    has = {ex.qid: ex.has_answer for ex in examples}
    order = sorted(has, key=lambda q: na[q])
    current = best = float(sum(1 for v in has.values() if not v))
    threshold = na[order[0]] - 1.0 if order else 0.0
    for i, qid in enumerate(order):
        if has[qid]:
            current += f1[qid]
        elif preds[qid]:
            current -= 1
        if i + 1 < len(order) and na[order[i + 1]] == na[qid]:
            continue
        if current > best:
            best, threshold = current, na[qid]
    return threshold, 100.0 * best / max(1, len(order))


def _to_gate_threshold(gate: Gate, score_threshold: float) -> float:
    """Back from the abstain-score scale (higher = abstain) to the gate's own value scale."""
    return score_threshold if gate.direction == "above" else -score_threshold


def _f1(examples: Sequence[SquadExample], preds: Mapping[str, str]) -> float:
    return float(squad_v2_scores(examples, preds)["f1"])


@dataclass
class Calibration:
    thresholds: dict[str, float]
    table: list[dict[str, Any]]
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds, "table": self.table, **self.summary}


def calibrate(
    examples: Sequence[SquadExample],
    signals: Sequence[Signals],
    gates: Sequence[str],
    guard: GuardConfig,
) -> Calibration:
    """Each gate's threshold from ``examples`` (validation), with seed and calibrated scores."""
    ids = [ex.qid for ex in examples]
    fixed = {k: v for k, v in guard.thresholds.items() if k in gates}
    chosen: dict[str, float] = {}
    active: list[str] = []
    for name in gates:
        gate = GATES.get(name)
        preds = gated_predictions(ids, signals, active, {**chosen}, guard)
        if name in fixed:
            chosen[name] = fixed[name]
        else:
            na = _abstain_scores(gate, signals, ids)
            if all(v == NEVER for v in na.values()):
                active.append(name)
                chosen[name] = gate.default  # no signal on this task: nothing to choose
                continue
            if guard.calibrate.objective == "risk":
                t, _, _ = threshold_at_risk(examples, preds, na, guard.calibrate.target_risk)
                score_t = t if t is not None else min(na.values()) - 1.0
            else:
                score_t, _ = best_f1_threshold(examples, preds, na)
            chosen[name] = _to_gate_threshold(gate, score_t)
        active.append(name)
    seed = {n: GATES.get(n).default for n in gates}
    table = []
    for name in gates:
        gate = GATES.get(name)
        with_seed = {**chosen, name: seed[name]}
        source: ThresholdSource = "config" if name in fixed else "calibrated"
        table.append({
            "gate": name, "description": gate.description, "seed_default": seed[name],
            "seed_f1": _f1(examples, gated_predictions(ids, signals, gates, with_seed, guard)),
            "calibrated": chosen[name], "source": source,
            "calibrated_f1": _f1(examples, gated_predictions(ids, signals, gates, chosen, guard)),
            "seed": gate.seed,
            "has_signal": any(gate.value(s) is not None for s in signals),
        })
    raw = {qid: s.answer for qid, s in zip(ids, signals, strict=True)}
    all_seed = gated_predictions(ids, signals, gates, seed, guard)
    all_cal = gated_predictions(ids, signals, gates, chosen, guard)
    summary = {
        "examples": len(examples),
        "objective": guard.calibrate.objective,
        "f1_all_seed_defaults": _f1(examples, all_seed),
        "f1_calibrated": _f1(examples, all_cal),
        "f1_no_gates": _f1(examples, raw),
        "f1_always_abstain": _f1(examples, dict.fromkeys(ids, "")),
        "reliability": reliability(examples, signals, raw, guard),
    }
    return Calibration(chosen, table, summary)


def reliability(examples: Sequence[SquadExample], signals: Sequence[Signals],
                preds: Mapping[str, str], guard: GuardConfig) -> dict[str, Any]:
    """Is the confidence score a probability that the answer is right?

    Correct: the question is answerable and the model's (ungated) answer scores F1 >= 0.5.
    """
    _, f1 = get_raw_scores(examples, preds)
    conf = [confidence_score(s) for s in signals]
    correct = [float(ex.has_answer and f1[ex.qid] >= 0.5) for ex in examples]
    return calibration_bins(conf, correct, guard.calibrate.bins)
