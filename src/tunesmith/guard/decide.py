"""Apply the gates to signals: the decision, the confidence score and the JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, Literal

from tunesmith.guard.gates import GATES, INSUFFICIENT_CONTEXT, MIN_TOKENS, Gate, Signals

ThresholdSource = Literal["seed", "calibrated", "config"]


@dataclass(frozen=True)
class GateResult:
    gate: str
    value: float | None
    threshold: float
    direction: str
    fired: bool
    source: ThresholdSource
    note: str | None = None


@dataclass(frozen=True)
class GuardedAnswer:
    """One guarded answer; ``to_json`` is what ``tunesmith answer`` prints."""

    answer: str | None
    confidence_score: float
    rejection_flag: bool
    gates: list[GateResult]
    raw_answer: str | None
    model: str
    task: str

    @property
    def fired(self) -> list[str]:
        return [g.gate for g in self.gates if g.fired]

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "confidence_score": _finite(self.confidence_score),
            "rejection_flag": self.rejection_flag,
            "gates_fired": self.fired,
            "gates": [{**asdict(g), "value": _finite(g.value)} for g in self.gates],
            "raw_answer": self.raw_answer,
            "model": self.model,
            "task": self.task,
        }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def confidence_score(signals: Signals) -> float:
    """One number in [0, 1]: how sure the guard is that the answer is supported.

    The rejection head's P(answerable) when there is one; else the answer's mean token
    probability (causal LM) or span probability (extractive); else 0.5 (nothing known).
    """
    if signals.p_unanswerable is not None:
        return 1.0 - signals.p_unanswerable
    if signals.token_probs:
        return sum(signals.token_probs) / len(signals.token_probs)
    if signals.null_diff is not None:
        return 1.0 / (1.0 + math.exp(max(-50.0, min(50.0, signals.null_diff))))
    return 0.5


def apply_gates(
    signals: Signals,
    gate_names: Sequence[str],
    thresholds: Mapping[str, float],
    sources: Mapping[str, ThresholdSource] | None = None,
) -> list[GateResult]:
    results = []
    for name in gate_names:
        gate: Gate = GATES.get(name)
        value = gate.value(signals)
        threshold = thresholds.get(name, gate.default)
        note = None if value is not None else "no signal for this gate"
        results.append(GateResult(
            name, value, float(threshold), gate.direction, gate.fires(value, threshold),
            (sources or {}).get(name, "seed"), note))
    return results


def decide(
    signals: Signals,
    gate_names: Sequence[str],
    thresholds: Mapping[str, float],
    abstain_text: str,
    model: str = "",
    task: str = "",
    sources: Mapping[str, ThresholdSource] | None = None,
) -> GuardedAnswer:
    """Abstain when any gate fires, or when the model itself abstained.

    Gates only ever add abstentions: where the model's own greedy answer is the abstention
    text (``no_answer_prob`` under a calibrated threshold above 0.5, say), the result is an
    abstention whatever the gates say; nothing is generated again.
    """
    results = apply_gates(signals, gate_names, thresholds, sources)
    raw = signals.answer
    model_abstained = not raw.strip() or abstain_text in raw or INSUFFICIENT_CONTEXT in raw
    fired = [r.gate for r in results if r.fired]
    rejected = bool(fired) or model_abstained
    if fired == [MIN_TOKENS.name]:
        answer = INSUFFICIENT_CONTEXT  # seed: minimal token enforcement has its own answer
    else:
        answer = abstain_text if rejected else raw.strip()
    return GuardedAnswer(answer, confidence_score(signals), rejected, results, raw, model, task)


def output_schema() -> dict[str, Any]:
    """The published JSON schema of ``tunesmith answer`` (package data, also in docs)."""
    text = resources.files("tunesmith.guard").joinpath("answer.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_output(payload: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``payload`` breaks the published schema."""
    import jsonschema

    jsonschema.validate(dict(payload), output_schema())
