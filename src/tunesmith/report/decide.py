"""The report's "Decide" section: should this run have fine-tuned at all?

From ``decide/decision.json`` (``tunesmith decide``): the recommendation and its reasons, every
baseline with its scores and latency, a bar chart of their F1 against the target, the seed's
criteria with value, threshold and verdict, and the cost-benefit. From ``decide/outcome.json``
(written by eval after training): the tuned model in the same table and chart, and whether the
decision predicted the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from tunesmith.report import plots
from tunesmith.report.markup import cell, image, not_run, note, read_json_or_note, table_html
from tunesmith.utils.layout import RunLayout

_COLUMNS = (("questions", "questions"), ("exact", "EM"), ("f1", "F1"),
            ("hallucination_rate", "hallucination"), ("false_abstain_rate", "false abstain"),
            ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("format_adherence", "format"),
            ("recall_at_k", "recall@k"), ("f1_gold_context", "F1, gold context, same questions"),
            ("bleu", "BLEU"), ("rouge_l", "ROUGE-L"))
_COLORS = {"prompting": "#1f77b4", "rag": "#ff7f0e", "model": "#9467bd", "tuned": "#2ca02c"}


def _kind(name: str) -> str:
    if name == "tuned" or name.endswith("_tuned"):
        return "tuned"
    if name.startswith("rag_"):
        return "rag"
    return "model" if name.startswith("model:") else "prompting"


def decide_section(run_dir: Path) -> str:
    """HTML for the decision; a run without one gets a line saying how to make it."""
    layout = RunLayout(run_dir)
    decision, problem = read_json_or_note(layout.decision)
    if problem:
        return note(problem)
    if not isinstance(decision, Mapping):
        return not_run("decide", "decide/decision.json") + (
            "<p>Run <code>tunesmith decide CONFIG</code> to score prompting and RAG baselines "
            "before training.</p>")
    outcome, outcome_problem = read_json_or_note(layout.decide_outcome)
    parts = [_recommendation(decision)]
    models: dict[str, Mapping[str, Any]] = dict(decision.get("baselines") or {})
    if isinstance(outcome, Mapping):
        models.update(outcome.get("models") or {})
    parts.append(_baseline_table(models))
    target = decision.get("target_f1")
    parts.append(image(plots.labelled_bars_png(
        {name: m.get("f1") for name, m in models.items()},
        {name: _COLORS[_kind(name)] for name in models},
        "F1 per approach (blue: prompting, orange: RAG, purple: other model, green: tuned)",
        "SQuAD 2.0 F1", float(target) if plots.is_number(target) else None,
        "target F1"), "F1 of each baseline"))
    parts.append(_outcome(decision, outcome, outcome_problem))
    parts.append(_criteria(decision.get("criteria") or []))
    parts.append(_cost(decision.get("cost") or {}))
    return "".join(parts)


def _recommendation(decision: Mapping[str, Any]) -> str:
    questions = decision.get("questions") or {}
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in decision.get("reasons") or [])
    closed = (decision.get("closed_book") or {}).get("share")
    closed_text = "not measured" if closed is None else f"{closed:.2f}"
    return (f"<p><strong>Recommendation: {escape(str(decision.get('recommendation')))}"
            f"</strong> (model {escape(str(decision.get('model')))}, "
            f"{questions.get('count')} {escape(str(questions.get('split')))} questions; RAG "
            f"on {questions.get('rag_count')}, leaving out the questions made unanswerable "
            f"only by pairing them with another document's context). Closed-book share: "
            f"{escape(closed_text)}.</p><ul>{reasons}</ul>")


def _baseline_table(models: Mapping[str, Mapping[str, Any]]) -> str:
    present = [(k, h) for k, h in _COLUMNS if any(m.get(k) is not None for m in models.values())]
    rows = [f"<tr><td>{escape(name)}</td>" + "".join(cell(m.get(k)) for k, _ in present)
            + "</tr>" for name, m in models.items()]
    return table_html(["approach", *(h for _, h in present)], rows)


def _outcome(decision: Mapping[str, Any], outcome: Any, problem: str | None) -> str:
    if problem:
        return note(problem)
    if not isinstance(outcome, Mapping):
        return ("<p class=\"missing\">Not checked against the outcome yet: after training, "
                "<code>tunesmith eval</code> scores the tuned model on these questions.</p>")
    stale = outcome.get("decision_created") != decision.get("created")
    warning = note("The outcome was scored against an earlier decision; run tunesmith eval "
                   "again.") if stale or not outcome.get("same_questions", True) else ""
    return f"<p><strong>Outcome:</strong> the decision {escape(str(outcome.get('verdict')))}." \
           f"</p>{warning}"


def _criteria(criteria: list[Mapping[str, Any]]) -> str:
    def verdict(passed: Any) -> str:
        text = {True: "holds", False: "does not hold"}.get(passed, "not measured")
        css = {True: "pos", False: "neg"}.get(passed, "")
        return f'<td class="{css}">{text}</td>'

    rows = [f"<tr><td>{escape(str(c.get('name')))}</td><td>{escape(str(c.get('condition')))}"
            f"</td>{cell(c.get('value'))}<td>{escape(str(c.get('threshold')))}</td>"
            f"{verdict(c.get('passed'))}<td>{escape(str(c.get('role')))}</td>"
            f"<td>{escape(str(c.get('source')))}</td></tr>" for c in criteria]
    return "<h3>The seed's criteria</h3>" + table_html(
        ["criterion", "condition", "value", "threshold", "verdict", "role", "source"], rows,
        numeric_from=99)


def _cost(cost: Mapping[str, Any]) -> str:
    if not cost:
        return ""
    training = cost.get("training") or {}
    annotation = cost.get("annotation") or {}
    one_off = cost.get("one_off_usd") or {}
    serving = cost.get("per_1k_answers_usd") or {}
    rows = [
        ("training", f"{training.get('gpu_hours', 0):.3g} GPU-hours on {training.get('gpu')} "
                     f"at ${training.get('usd_per_hour')}/h", training.get("usd")),
        ("annotation (low)", f"{annotation.get('examples')} examples", annotation.get("usd_low")),
        ("annotation (high)", f"{annotation.get('examples')} examples",
         annotation.get("usd_high")),
        ("one-off (low-high)", "training + annotation",
         f"{one_off.get('low', 0):,.0f}-{one_off.get('high', 0):,.0f}"),
        ("serving in-house, per 1,000 answers",
         f"{serving.get('in_house_hardware')} at the zero-shot p50", serving.get("in_house")),
    ]
    rows += [(f"API {name}, per 1,000 answers", "the best prompting's tokens", usd)
             for name, usd in (serving.get("apis") or {}).items()]
    for name, even in (cost.get("break_even_answers") or {}).items():
        low, high = even.get("low"), even.get("high")
        text = ("never (the API costs less per answer)" if low is None
                else f"{low:,.0f}-{high:,.0f} answers")
        rows.append((f"break-even against {name}", "one-off / saving per answer", text))
    body = [f"<tr><td>{escape(a)}</td><td>{escape(b)}</td>{cell(c)}</tr>" for a, b, c in rows]
    gain = cost.get("expected_gain_f1")
    gain_text = "" if gain is None else (
        f"<p>Gain needed to reach the target over the best baseline: {gain:+.1f} F1 points "
        f"(seed: \"+15% typically justifies investment\").</p>")
    return "<h3>Cost-benefit (USD)</h3>" + table_html(["item", "basis", "USD"], body,
                                                       numeric_from=2) + gain_text
