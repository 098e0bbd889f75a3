"""The gates: each turns one signal about an answer into "answer" or "abstain".

Every gate is registered by name in :data:`GATES` with its seed default threshold and the
direction in which it fires. A gate whose signal is missing (no rejection head trained, no token
probabilities from an extractive model) does not fire and says why. The guard abstains when any
gate fires. Thresholds come from, in order: ``guard.thresholds`` in the config,
``runs/<name>/guard/thresholds.json`` (``tunesmith calibrate``), the seed default.
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

    def value(self, s: Signals) -> float | None:
        raise NotImplementedError

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


def _register(gate: Gate) -> Gate:
    GATES.register(gate.name)(gate)
    return gate


@dataclass(frozen=True)
class RejectionHeadGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.p_unanswerable


@dataclass(frozen=True)
class MultitaskHeadGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.extras.get("multitask_p_unanswerable")


@dataclass(frozen=True)
class NoAnswerProbGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.p_no_answer


@dataclass(frozen=True)
class NullScoreGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.null_diff


@dataclass(frozen=True)
class MeanConfidenceGate(Gate):
    def value(self, s: Signals) -> float | None:
        if s.token_probs:
            return sum(s.token_probs) / len(s.token_probs)
        return s.span_prob


@dataclass(frozen=True)
class MinConfidenceGate(Gate):
    def value(self, s: Signals) -> float | None:
        return min(s.token_probs) if s.token_probs else None


@dataclass(frozen=True)
class PerplexityGate(Gate):
    def value(self, s: Signals) -> float | None:
        if not s.token_probs:
            return None
        nll = -sum(math.log(max(p, 1e-12)) for p in s.token_probs) / len(s.token_probs)
        return math.exp(min(nll, 50.0))


@dataclass(frozen=True)
class SimilarityGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.similarity


_WORD = re.compile(r"\w+", re.UNICODE)
_COMPLEX_WH = ("why", "how", "explain", "describe", "compare", "what are the differences")
COMPLEX_QUESTION_WORDS = 12  # a question of this many words or more is "complex"


def question_words(question: str) -> int:
    return len(_WORD.findall(question))


def is_complex(question: str) -> bool:
    """Why/how/explain questions and long ones ask for more than a name or a number."""
    q = question.strip().lower()
    return q.startswith(_COMPLEX_WH) or question_words(q) >= COMPLEX_QUESTION_WORDS


@dataclass(frozen=True)
class MinTokensGate(Gate):
    def value(self, s: Signals) -> float | None:
        if not s.answer.strip() or not is_complex(s.question):
            return None  # only complex questions need a substantial answer
        return float(len(_WORD.findall(s.answer)))


@dataclass(frozen=True)
class ContextLengthGate(Gate):
    def value(self, s: Signals) -> float | None:
        words = max(1, question_words(s.question))
        return len(s.context.strip()) / words


REJECTION_HEAD = _register(RejectionHeadGate(
    "rejection_head", "P(unanswerable) from the rejection head (an encoder classifier)",
    0.5, "above", "seed: \"Add rejection head: Secondary classifier predicting answerability\""))
MULTITASK_HEAD = _register(MultitaskHeadGate(
    "multitask_head", "P(unanswerable) from the causal LM's own answerability head (multitask)",
    0.5, "above", "seed: \"Multi-task learning: Jointly train for question answering and "
    "answerability classification\""))
NO_ANSWER_PROB = _register(NoAnswerProbGate(
    "no_answer_prob", "the model's own probability of replying with the abstention text",
    # no seed number exists. 0.5 is roughly where greedy decoding abstains: above it every
    # abstention token's conditional probability is above 0.5, so greedy picks the abstention
    # for certain. The gate only adds abstentions: an answer the model itself abstained on stays
    # an abstention whatever the threshold (decide), nothing is generated again.
    0.5, "above", "no seed number; greedy decoding abstains roughly where P(abstain) > 0.5"))
NULL_SCORE = _register(NullScoreGate(
    "null_score", "extractive QA: null ([CLS]) score minus the best span score",
    0.0, "above", "SQuAD 2.0: answer when the best span beats the null score"))
CONFIDENCE = _register(MeanConfidenceGate(
    "confidence", "mean softmax probability of the answer's tokens (span: P(start)·P(end))",
    0.75, "below", "seed: \"Discard responses when softmax probability <0.75\""))
MIN_CONFIDENCE = _register(MinConfidenceGate(
    "min_confidence", "lowest softmax probability among the answer's tokens",
    0.75, "below", "seed: \"Discard responses when softmax probability <0.75\""))
PERPLEXITY = _register(PerplexityGate(
    "perplexity", "perplexity of the generated answer",
    150.0, "above", "seed: \"Block outputs with high token uncertainty (>150 perplexity)\""))
SIMILARITY = _register(SimilarityGate(
    "similarity", "cosine similarity of question and context embeddings",
    0.8, "below", "seed: \"Reject when query-context similarity <0.8\""))
MIN_TOKENS = _register(MinTokensGate(
    "min_tokens", "words in the answer to a complex (why/how/long) question",
    5.0, "below",
    "seed: \"Return INSUFFICIENT_CONTEXT for answers <5 tokens to complex queries\""))
CONTEXT_LENGTH = _register(ContextLengthGate(
    "context_length", "characters of context per word of question",
    # the seed names the rule without a number; 10 characters per question word is a floor
    # well below any real paragraph (a SQuAD paragraph has ~70 per word of its question)
    10.0, "below", "seed: \"Require minimum context characters per word in question\""))

INSUFFICIENT_CONTEXT = "INSUFFICIENT_CONTEXT"  # seed: minimal token enforcement's answer
