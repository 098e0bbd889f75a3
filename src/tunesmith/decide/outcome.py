"""Checked against the outcome: after training, the tuned model answers the decision's
questions as the zero-shot baseline did (the context given) and as the reader of each RAG
baseline, so the report shows the tuned model beside every baseline, and whether the
recommendation predicted what fine-tuning gained.

The decision predicted fine-tuning to be worth it ("fine-tune", "RAG + fine-tune") or not
("prompt", "RAG"). It held when the tuned model's best F1 beat the best baseline by more than
``decide.min_gap`` points exactly when fine-tuning was recommended (seed: "+15% typically
justifies investment").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.decide.baselines import (
    decision_questions,
    longest_reference_words,
    retrieval_questions,
)
from tunesmith.decide.criteria import best
from tunesmith.decide.retrieve import corpus_chunks, retrieve_for
from tunesmith.decide.run import answer_with
from tunesmith.inference import load_predictor
from tunesmith.utils.io import read_json, write_json_atomic
from tunesmith.utils.layout import RunLayout

FINE_TUNE = ("fine-tune", "RAG + fine-tune")


def check_outcome(config: RunConfig, run_dir: Path,
                  console: Console | None = None) -> dict[str, Any] | None:
    """Score the tuned model on the decision's questions and write ``decide/outcome.json``;
    None (nothing written) when decide has not run, nothing is trained, or
    ``decide.check_after_eval`` is off."""
    layout = RunLayout(run_dir)
    if (not config.decide.check_after_eval or config.model.task != "causal_lm"
            or not layout.decision.exists() or not layout.adapter.exists()):
        return None
    decision = read_json(layout.decision)
    records = decision_questions(config, layout)
    rag_records = retrieval_questions(records)
    retrieval = retrieve_for(corpus_chunks(config), rag_records, config.decide.retrieval_k)
    max_words = config.decide.max_answer_words or longest_reference_words(records)
    predictor = load_predictor(config, layout, "tuned")
    answered = answer_with(predictor, config, records, rag_records, retrieval, max_words,
                           None, console)
    del predictor
    tuned = {("tuned" if a.name == "zero_shot" else f"{a.name}_tuned"): a.metrics
             for a in answered}
    outcome = judge(decision, tuned)
    outcome["same_questions"] = [r.id for r in records] == decision["questions"]["ids"]
    outcome["decision_created"] = decision.get("created")
    write_json_atomic(layout.decide_outcome, outcome)
    return outcome


def judge(decision: dict[str, Any], tuned: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The tuned model's gain over the best baseline, and whether the recommendation held."""
    gap = float(decision["min_gap"])
    base_name, base_f1 = best(decision["baselines"])
    tuned_name, tuned_f1 = best(tuned)
    gain = None if base_f1 is None or tuned_f1 is None else tuned_f1 - base_f1
    recommended = decision["recommendation"]
    predicted_worth = recommended in FINE_TUNE
    held = None if gain is None else (gain > gap) == predicted_worth
    verdict = ("not measured" if held is None else
               f"{'held' if held else 'did not hold'}: {recommended!r} predicted that "
               f"fine-tuning {'would' if predicted_worth else 'would not'} gain more than "
               f"{gap:g} F1 points; the best tuned ({tuned_name}) gained {gain:+.1f} over the "
               f"best baseline ({base_name})")
    return {"models": tuned, "best_baseline": base_name, "best_baseline_f1": base_f1,
            "best_tuned": tuned_name, "best_tuned_f1": tuned_f1, "gain_f1": gain,
            "reached_target": None if tuned_f1 is None else tuned_f1 >= decision["target_f1"],
            "recommendation": recommended, "held": held, "verdict": verdict}
