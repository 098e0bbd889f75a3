"""Score models *with the guard*: SQuAD 2.0, abstention, hallucination, coverage-risk, ablation.

For every model of ``eval.compare`` the gates' signals are computed once on the evaluation set;
the thresholds are those ``tunesmith calibrate`` chose on validation for that model (never on
the evaluation set). Reported per model, in ``eval/metrics.json``:

- the SQuAD 2.0 dict of the guarded predictions (exact, f1, HasAns_*, NoAns_*) and the official
  best-threshold sweep (best_exact, best_f1 and their thresholds) over the model's own no-answer
  score, an oracle upper bound the calibrated threshold is measured against;
- abstention precision / recall / F1 (positive = should abstain), hallucination rate,
  false-abstain rate;
- the coverage-risk curve and AURC (``coverage_risk``);
- per gate, the AUROC of its abstain score against "should abstain" (``gate_auroc``);
- a per-gate ablation (F1 with all gates, without each gate, with each gate alone);
- ``always_abstain``: the empty prediction everywhere, the floor any guard must beat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.formats.squad import read_question_file
from tunesmith.data.schema import QARecord, read_records
from tunesmith.errors import TunesmithError
from tunesmith.guard.calibrate import gated_predictions
from tunesmith.guard.gates import GATES, Signals
from tunesmith.guard.no_answer import calibrate_for_eval
from tunesmith.guard.signals import SimilarityModel, compute_signals, load_rejection_head
from tunesmith.guard.stages import gate_settings
from tunesmith.inference import load_predictor
from tunesmith.metrics.abstention import abstention_scores, coverage_risk
from tunesmith.metrics.squad_v2 import (
    SquadExample,
    get_raw_scores,
    squad_v2_scores,
)
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic
from tunesmith.utils.layout import RunLayout


def load_eval_records(config: RunConfig, run: RunLayout | Path) -> tuple[list[QARecord], str]:
    """The records to score and where they came from: ``eval.dataset`` when set (a SQuAD
    ``.json`` file or QA-record ``.jsonl``), else the run's ``eval.split``. Every evaluation
    path (plain, guarded, compare) reads through here. No records is a TunesmithError that
    names the file."""
    layout = run if isinstance(run, RunLayout) else RunLayout(run)
    if config.eval.dataset:
        path = config.resolve(config.eval.dataset)
        records = read_question_file(path, "eval.dataset")
        source = str(config.eval.dataset)
        where = f"eval.dataset: {path}"
    else:
        path = layout.split(config.eval.split)
        if not path.exists():
            raise TunesmithError(f"{path}: no {config.eval.split} split; build the data first "
                                 "(`tunesmith data build CONFIG`) or set eval.dataset")
        records = read_records(path)
        source = f"{config.eval.split} split"
        where = f"{path} (eval.split: {config.eval.split})"
    if config.eval.max_examples:
        records = records[: config.eval.max_examples]
    if not records:
        hint = ("" if config.eval.dataset else
                f"; give the split a share (data.split.{config.eval.split}) or set eval.dataset")
        raise TunesmithError(f"{where}: no records to evaluate{hint}")
    return records, source


def na_score(signals: Signals, task: str) -> float:
    """The model's own "no answer" score (higher: more likely unanswerable): the null-score
    difference of an extractive model, a causal LM's probability of replying with the
    abstention text, else the rejection head's P(unanswerable), else 1 - mean token probability.
    """
    if task == "extractive_qa" and signals.null_diff is not None:
        return signals.null_diff
    if task == "causal_lm" and signals.p_no_answer is not None:
        return signals.p_no_answer
    if signals.p_unanswerable is not None:
        return signals.p_unanswerable
    if signals.token_probs:
        return 1.0 - sum(signals.token_probs) / len(signals.token_probs)
    return 0.0 if signals.answer.strip() else 1.0


def guarded_scores(
    config: RunConfig,
    examples: Sequence[SquadExample],
    signals: Sequence[Signals],
    gates: Sequence[str],
    thresholds: dict[str, float],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every metric of one model from its signals; also the guarded predictions."""
    ids = [ex.qid for ex in examples]
    guarded = gated_predictions(ids, signals, gates, thresholds, config.guard)
    metrics: dict[str, Any] = dict(squad_v2_scores(examples, guarded))
    raw = {qid: s.answer for qid, s in zip(ids, signals, strict=True)}
    na = {qid: na_score(s, config.model.task) for qid, s in zip(ids, signals, strict=True)}
    sweep = squad_v2_scores(examples, raw, na)  # only its best_* keys: na is no probability
    ungated = squad_v2_scores(examples, raw)
    metrics["ungated_exact"], metrics["ungated_f1"] = ungated["exact"], ungated["f1"]
    metrics.update({k: sweep[k] for k in ("best_exact", "best_exact_thresh", "best_f1",
                                          "best_f1_thresh")})
    metrics.update(abstention_scores(examples, guarded))
    curve = coverage_risk(examples, raw, na)
    metrics["aurc"] = curve["aurc"]
    metrics["coverage_risk"] = _thin(curve)
    metrics["gates"] = list(gates)
    metrics["thresholds"] = dict(thresholds)
    metrics["gate_auroc"] = gate_auroc(examples, signals, gates)
    if config.eval.ablation:
        metrics["ablation"] = ablation(config, examples, signals, gates, thresholds)
    return metrics, guarded


def _thin(curve: dict[str, Any], points: int = 101) -> dict[str, Any]:
    """At most ``points`` points of the curve (metrics.json stays small), and its AURC."""
    n = len(curve["coverage"])
    step = max(1, n // (points - 1))
    keep = sorted({*range(0, n, step), n - 1}) if n else []
    return {"coverage": [round(curve["coverage"][i], 6) for i in keep],
            "risk": [round(curve["risk"][i], 6) for i in keep], "aurc": curve["aurc"]}


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve: P(a positive scores above a negative), ties counted half
    (Mann-Whitney U from average ranks). None without both classes."""
    pos = sum(1 for p in positive if p)
    neg = len(positive) - pos
    if not pos or not neg:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positive, strict=True) if p)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def gate_auroc(examples: Sequence[SquadExample], signals: Sequence[Signals],
               gates: Sequence[str]) -> list[dict[str, Any]]:
    """Per gate: how well its abstain score alone ranks the unanswerable questions above the
    answerable ones (AUROC, positive = should abstain), over the questions it has a signal for;
    None where it has none, or they are all of one kind."""
    rows = []
    for name in gates:
        gate = GATES.get(name)
        pairs = [(score, not ex.has_answer) for ex, s in zip(examples, signals, strict=True)
                 if (score := gate.abstain_score(gate.value(s))) is not None
                 and not math.isnan(score)]
        rows.append({"gate": name, "auroc": auroc([p[0] for p in pairs], [p[1] for p in pairs]),
                     "with_signal": len(pairs)})
    return rows


def ablation(config: RunConfig, examples: Sequence[SquadExample], signals: Sequence[Signals],
             gates: Sequence[str], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    """F1 and abstention with every gate, without each one, with each one alone, with none."""
    ids = [ex.qid for ex in examples]

    def row(name: str, active: Sequence[str]) -> dict[str, Any]:
        preds = gated_predictions(ids, signals, active, thresholds, config.guard)
        s = squad_v2_scores(examples, preds)
        a = abstention_scores(examples, preds)
        return {"setting": name, "gates": list(active), "f1": s["f1"],
                "HasAns_f1": s.get("HasAns_f1"), "NoAns_f1": s.get("NoAns_f1"),
                "abstain_f1": a["abstain_f1"], "hallucination_rate": a["hallucination_rate"]}

    rows = [row("all gates", gates), row("no gates", [])]
    rows += [row(f"without {g}", [x for x in gates if x != g]) for g in gates]
    rows += [row(f"only {g}", [g]) for g in gates]
    return rows


def evaluate_guarded(config: RunConfig, run_dir: Path,
                     console: Console | None = None) -> dict[str, dict[str, Any]]:
    """Score each model of ``eval.compare`` through the guard; writes eval/metrics.json."""
    layout = RunLayout(run_dir)
    records, source = load_eval_records(config, layout)
    examples = [SquadExample(r.id, r.references) for r in records]
    similarity = SimilarityModel(config.guard.encoder_model)
    head = load_rejection_head(run_dir)
    results: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for label in config.eval.compare:
        predictor = load_predictor(config, layout, label)
        calibrate_for_eval(config, layout, predictor, console)  # guard.no_answer_threshold: auto
        rejection = head if label == "tuned" else None
        settings = gate_settings(config, run_dir, label, predictor.no_answer_threshold,
                                 rejection is not None)
        gates, thresholds = settings.gates, settings.thresholds
        signals = compute_signals(config, predictor, [r.question for r in records],
                                  [r.context for r in records], rejection, similarity, console)
        metrics, guarded = guarded_scores(config, examples, signals, gates, thresholds)
        metrics["eval_set"] = source
        metrics["thresholds_from"] = ("guard/thresholds.json" if settings.calibrated
                                      else "seed defaults")
        results[label] = metrics
        rows.extend(_rows(records, signals, guarded, label, config.model.task))
    abstain = dict.fromkeys((ex.qid for ex in examples), "")
    results["always_abstain"] = {**squad_v2_scores(examples, abstain),
                                 **abstention_scores(examples, abstain), "eval_set": source}
    write_jsonl_atomic(layout.predictions, rows)
    write_json_atomic(layout.eval_metrics, results)
    return results


def _rows(records: Sequence[QARecord], signals: Sequence[Signals], guarded: dict[str, str],
          label: str, task: str) -> list[dict[str, Any]]:
    exact, f1 = get_raw_scores([SquadExample(r.id, r.references) for r in records], guarded)
    rows = []
    for record, s in zip(records, signals, strict=True):
        prediction = guarded[record.id]
        rows.append({
            "id": record.id, "model": label, "kind": record.kind, "question": record.question,
            "answers": record.references, "generated": s.answer, "prediction": prediction,
            "no_answer_score": na_score(s, task), "p_unanswerable": s.p_unanswerable,
            "p_no_answer": s.p_no_answer,
            "similarity": s.similarity,
            "exact": exact[record.id],
            "f1": f1[record.id],
        })
    return rows
