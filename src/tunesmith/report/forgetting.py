"""The report's "Forgetting" section: the probe of base and tuned (``eval/forgetting.json``),
each checker's pass count, instructions the tuned model stopped following, and the mitigation
comparison of ``tunesmith compare --forgetting`` when it ran (``compare/forgetting.json``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from tunesmith.report import plots
from tunesmith.report.markup import (
    MISSING,
    cell,
    image,
    not_run,
    note,
    read_json_or_note,
    table_html,
)
from tunesmith.utils.layout import RunLayout

# (key, label, higher is better)
PROBE_ROWS = (("perplexity", "general-text perplexity", False),
              ("instruction_following", "instruction following (% passed)", True),
              ("closed_book_qa", "closed-book QA (% right)", True))
FORGOTTEN_SHOWN = 8


def _change_cell(delta: Any, higher_is_better: bool) -> str:
    if not plots.is_number(delta):
        return f'<td class="num">{MISSING}</td>'
    good = delta > 0 if higher_is_better else delta < 0
    tone = "" if delta == 0 else ("pos" if good else "neg")
    return f'<td class="num {tone}">{escape(f"{delta:+,.2f}")}</td>'


def probe_table(models: Mapping[str, Any], change: Mapping[str, Any] | None) -> str:
    base, tuned = models.get("base") or {}, models.get("tuned") or {}
    change = change or {}
    rows = []
    for key, label, higher in PROBE_ROWS:
        extra = ""
        percent = change.get("perplexity_percent")
        if key == "perplexity" and plots.is_number(percent):
            extra = f' <span class="meta">({percent:+.1f}%)</span>'
        rows.append(f"<tr><th>{escape(label)}{extra}</th>{cell(base.get(key))}"
                    f"{cell(tuned.get(key))}{_change_cell(change.get(key), higher)}</tr>")
    # the mean of the instruction and QA drops (points) and the perplexity rise (%)
    rows.append("<tr><th>general loss (mean of the three drops)</th><td></td><td></td>"
                f"{_change_cell(change.get('general_loss'), False)}</tr>")
    return table_html(["probe", "base", "tuned", "Δ (tuned − base)"], rows)


def _checker_table(models: Mapping[str, Any]) -> str:
    labels = [m for m in ("base", "tuned") if isinstance(models.get(m), Mapping)]
    checkers = sorted({c for m in labels for c in (models[m].get("by_checker") or {})})
    rows = []
    for checker in checkers:
        cells = []
        for m in labels:
            counts = (models[m].get("by_checker") or {}).get(checker) or {}
            cells.append(f'<td class="num">{counts.get("passed", MISSING)} / '
                         f'{counts.get("total", MISSING)}</td>')
        rows.append(f"<tr><th>{escape(checker)}</th>{''.join(cells)}</tr>")
    return ("<h3>Instruction checks passed, by checker</h3>"
            + table_html(["checker", *labels], rows))


def _forgotten(items: Sequence[Mapping[str, Any]]) -> str:
    lost = [i for i in items if i.get("probe") == "instruction_following"
            and (i.get("base") or {}).get("passed") and not (i.get("tuned") or {}).get("passed")]
    if not lost:
        return ""
    rows = (f"<tr><td>{escape(str(i.get('checker')))}</td><td>{escape(str(i.get('prompt')))}</td>"
            f"<td>{escape(str(i['base'].get('reply', ''))[:400])}</td>"
            f"<td>{escape(str(i['tuned'].get('reply', ''))[:400])}</td></tr>"
            for i in lost[:FORGOTTEN_SHOWN])
    return (f'<h3>Instructions the tuned model stopped following <span class="meta">'
            f"({min(len(lost), FORGOTTEN_SHOWN)} of {len(lost)})</span></h3>"
            + table_html(["check", "instruction", "base", "tuned"], rows, numeric_from=4,
                         css_class="examples"))


def comparison_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Task gain against general loss, one row per variant (compare --forgetting)."""
    body = []
    for r in rows:
        if r.get("status") != "ok":
            body.append(f"<tr><th>{escape(str(r.get('method')))}</th>"
                        f'<td colspan="7">error: {escape(str(r.get("error", ""))[:200])}</td></tr>')
            continue
        body.append(
            f"<tr><th>{escape(str(r.get('method')))}</th>{cell(r.get('f1'))}"
            f"{cell(r.get('task_gain'))}{cell(r.get('gain_kept_percent'))}"
            f"{cell(r.get('perplexity'))}{cell(r.get('instruction_following'))}"
            f"{cell(r.get('closed_book_qa'))}{cell(r.get('general_loss'))}</tr>")
    return table_html(["variant", "task F1", "task gain", "gain kept (% of none)",
                       "perplexity", "instructions %", "closed-book QA %",
                       "general loss"], body)


def _comparison(run_dir: Path) -> str:
    layout = RunLayout(run_dir)
    data, problem = read_json_or_note(layout.compare_forgetting)
    if problem:
        return note(problem)
    if not isinstance(data, Mapping):
        return ""
    meta = data.get("meta") or {}
    png = layout.compare_forgetting.with_suffix(".png")
    return ("<h3>Mitigations compared (<code>tunesmith compare --forgetting</code>)</h3>"
            f"<p class=\"meta\">{escape(str(meta.get('budget', '')))}</p>"
            + comparison_table(data.get("rows") or [])
            + image(png.read_bytes() if png.is_file() else None,
                    "task gain against general loss, one point per variant"))


def forgetting_section(run_dir: Path) -> str:
    """HTML for the section; a run without the probe gets a line saying so."""
    layout = RunLayout(run_dir)
    data, problem = read_json_or_note(layout.forgetting_json)
    parts: list[str] = []
    if problem:
        parts.append(note(problem))
    elif not isinstance(data, Mapping):
        parts.append(not_run("The forgetting probe", "eval/forgetting.json"))
    else:
        probe = data.get("probe") or {}
        parts.append(
            f"<p>General ability of the base and the tuned model, from tunesmith's own probe "
            f"(not the user's documents): perplexity on {probe.get('passages')} passages of "
            f"general prose, {probe.get('instructions')} instructions with a check code can "
            f"verify, and {probe.get('questions')} closed-book questions.</p>")
        models = data.get("models") or {}
        parts.append(probe_table(models, data.get("change")))
        parts.append(_checker_table(models))
        parts.append(_forgotten(data.get("items") or []))
    parts.append(_comparison(run_dir))
    return "\n".join(p for p in parts if p)
