"""The ``no_answer_prob`` gate: the model's own probability of replying with the abstention text."""

from __future__ import annotations

from dataclasses import dataclass

from tunesmith.guard.gates.base import Gate, Signals, register_gate


@dataclass(frozen=True)
class NoAnswerProbGate(Gate):
    def value(self, s: Signals) -> float | None:
        return s.p_no_answer


register_gate(NoAnswerProbGate(
    "no_answer_prob", "the model's own probability of replying with the abstention text",
    # no seed number exists. 0.5 is roughly where greedy decoding abstains: above it every
    # abstention token's conditional probability is above 0.5, so greedy picks the abstention
    # for certain. The gate only adds abstentions: an answer the model itself abstained on stays
    # an abstention whatever the threshold (decide), nothing is generated again.
    0.5, "above", "no seed number; greedy decoding abstains roughly where P(abstain) > 0.5",
    tasks=("causal_lm",), rank=40))
