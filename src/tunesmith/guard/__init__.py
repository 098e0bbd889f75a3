"""Answer only with sufficient context: the gates, their calibration, and the ``Guard``.

    from tunesmith.guard import Guard
    guard = Guard.from_config("examples/quickstart/tunesmith.yaml")
    result = guard.answer("Which port does the broker listen on?", context)
    result.to_json()   # answer, confidence_score, rejection_flag, gates (validated schema)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig, load_config
from tunesmith.guard.decide import (
    GateResult,
    GuardedAnswer,
    ThresholdSource,
    decide,
    output_schema,
    validate_output,
)
from tunesmith.guard.gates import GATES, INSUFFICIENT_CONTEXT, SIMILARITY, Gate, Signals

__all__ = ["GATES", "INSUFFICIENT_CONTEXT", "Gate", "GateResult", "Guard", "GuardedAnswer",
           "Signals", "decide", "output_schema", "validate_output"]


class Guard:
    """The tuned model of a run behind its gates, with the thresholds calibration chose."""

    def __init__(self, config: RunConfig, run_dir: Path | None = None, label: str = "tuned"):
        # deferred: importing these loads safetensors, torch, transformers
        from tunesmith.guard.signals import SimilarityModel, load_rejection_head
        from tunesmith.guard.stages import gate_settings
        from tunesmith.inference import load_predictor

        self.config = config
        self.run_dir = run_dir or config.run_dir
        self.label = label
        self.predictor = load_predictor(config, self.run_dir, label)
        self.rejection_head = load_rejection_head(self.run_dir) if label == "tuned" else None
        settings = gate_settings(config, self.run_dir, label,
                                 self.predictor.no_answer_threshold,
                                 self.rejection_head is not None)
        self.gates = settings.gates
        self.thresholds: dict[str, float] = settings.thresholds
        self.sources: dict[str, ThresholdSource] = settings.sources
        for name in self.gates:
            GATES.get(name)  # an unknown gate name fails here, with the known ones listed
        # the encoder embeds question and context on every answer: only for a gate that reads it
        self.similarity = (SimilarityModel(config.guard.encoder_model)
                           if SIMILARITY.name in self.gates else None)

    @classmethod
    def from_config(cls, path: str | Path, overrides: list[str] | None = None,
                    label: str = "tuned") -> Guard:
        return cls(load_config(Path(path), overrides or []), label=label)

    def answer(self, question: str, context: str, console: Any = None) -> GuardedAnswer:
        """One guarded answer (see :meth:`answer_many`)."""
        return self.answer_many([question], [context], console)[0]

    def answer_many(self, questions: list[str], contexts: list[str], console: Any = None,
                    max_new_tokens: int | None = None) -> list[GuardedAnswer]:
        """Guarded answers; a gate's threshold is the calibrated one, else the seed's. A causal
        LM generates at most ``max_new_tokens`` (default ``eval.max_new_tokens``)."""
        # deferred: importing it loads safetensors, torch, transformers
        from tunesmith.guard.signals import compute_signals

        signals = compute_signals(self.config, self.predictor, questions, contexts,
                                  self.rejection_head, self.similarity, console, max_new_tokens)
        out = []
        for s in signals:
            result = decide(s, self.gates, self.thresholds, self.config.guard.abstain_text,
                            model=self.config.model.name, task=self.config.model.task,
                            sources=self.sources)
            if self.predictor.kind == "answerability" and not result.rejection_flag:
                result = GuardedAnswer(None, result.confidence_score, False, result.gates,
                                       None, result.model, result.task)
            out.append(result)
        return out
