"""What every gate shares: the signals it reads, the ``Gate`` class, the registry.

A gate is one module of this package: a ``Gate`` subclass whose ``value`` reads one signal,
registered once with :func:`register_gate` (its seed default threshold, the direction it fires
in, the tasks it applies to and its place in the default order). docs/extending.md shows one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from tunesmith.registry import Registry

Direction = Literal["above", "below"]  # fires when the value is above / below the threshold


@dataclass
class Signals:
    """What the gates look at for one question, its context and the proposed answer."""

    question: str
    context: str
    answer: str
    token_probs: list[float] | None = None  # generated answer's token probabilities (causal LM)
    p_unanswerable: float | None = None  # the rejection head's P(not answerable)
    p_no_answer: float | None = None  # causal LM: its own P(replying with the abstention text)
    null_diff: float | None = None  # extractive: null score - best span score
    span_prob: float | None = None  # extractive: P(start) * P(end) of the chosen span
    similarity: float | None = None  # cosine(question, context) with the encoder
    extras: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Gate:
    """One registered check: its signal, its seed default, and the direction it fires in."""

    name: str
    description: str
    default: float
    direction: Direction
    seed: str  # where the default comes from
    tasks: tuple[str, ...] | None = None  # the model.task values it applies to; None: every one
    rank: int = 100  # its place among the default gates (guard.gates unset): lower comes first

    def value(self, s: Signals) -> float | None:
        raise NotImplementedError

    def applies(self, task: str, has_rejection_head: bool) -> bool:
        """Whether the gate is among the defaults for this task."""
        return self.tasks is None or task in self.tasks

    def fires(self, value: float | None, threshold: float) -> bool:
        if value is None or math.isnan(value):
            return False
        return value > threshold if self.direction == "above" else value < threshold

    def abstain_score(self, value: float | None) -> float | None:
        """Higher = more reason to abstain (what the threshold sweeps sort by)."""
        if value is None:
            return None
        return value if self.direction == "above" else -value


GATES = Registry[Gate]("gate")


def register_gate(gate: Gate) -> Gate:
    """Register ``gate`` under its name; returns it (``NAME = register_gate(MyGate(...))``)."""
    GATES.register(gate.name)(gate)
    return gate


WORDS = re.compile(r"\w+", re.UNICODE)
_COMPLEX_WH = ("why", "how", "explain", "describe", "compare", "what are the differences")
COMPLEX_QUESTION_WORDS = 12  # a question of this many words or more is "complex"


def question_words(question: str) -> int:
    return len(WORDS.findall(question))


def is_complex(question: str) -> bool:
    """Why/how/explain questions and long ones ask for more than a name or a number."""
    q = question.strip().lower()
    return q.startswith(_COMPLEX_WH) or question_words(q) >= COMPLEX_QUESTION_WORDS
