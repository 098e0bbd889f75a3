"""``runs/<name>/data/report.html``: the data report, one self-contained page.

What the built data actually has, each number beside the seed's rule: the mix of kinds, what
quality control dropped and why, the question-context similarity distribution against its
threshold, review rejection rates against the expected ranges, answerability and difficulty
before and after balancing, and token-length histograms against the seed's ranges. The numbers
are those of ``stats.json``; plots are PNGs (matplotlib, Agg canvas) inlined as data URIs.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tunesmith import __version__
from tunesmith.report.markup import format_value
from tunesmith.utils.io import write_text_atomic

_CSS = """
body{margin:0;background:#f6f7f9;color:#1d2330;line-height:1.45;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.6em}h2{font-size:1.25em;margin:30px 0 8px;border-bottom:1px solid #d7dce3}
table{border-collapse:collapse;margin:8px 0 14px;background:#fff;font-size:.92em}
th,td{border:1px solid #cfd5dd;padding:4px 9px;text-align:left}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.out{color:#c0392b;font-weight:600}td.in{color:#1a7f37}
img{max-width:100%;background:#fff;border:1px solid #d7dce3;margin:6px 0}
.note{color:#5b6575;font-size:.92em}
"""
_BLUE, _RED, _GREEN = "#1f77b4", "#d62728", "#2ca02c"


def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    figure.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def length_histograms(lengths: Mapping[str, Sequence[int]],
                      ranges: Mapping[str, Sequence[float]], counted_by: str) -> str:
    """One histogram per field (question, context, answer), the seed's range shaded."""
    fields = [f for f in ("question", "context", "answer") if lengths.get(f)]
    if not fields:
        return ""
    figure = Figure(figsize=(9.5, 3.0), layout="constrained")
    for index, field in enumerate(fields, start=1):
        axes = figure.add_subplot(1, len(fields), index)
        low, high = ranges[field]
        axes.axvspan(low, high, color=_GREEN, alpha=0.15, label="seed range")
        axes.hist(lengths[field], bins=30, color=_BLUE)
        axes.set_title(f"{field} tokens")
        axes.set_xlabel(f"tokens ({counted_by.split(' (')[0]})")
        axes.set_ylabel("count")
        if index == 1:
            axes.legend(frameon=False, fontsize=8)
    return _png(figure)


def similarity_histogram(by_kind: Mapping[str, Sequence[float]], threshold: float) -> str:
    if not any(by_kind.values()):
        return ""
    figure = Figure(figsize=(9.5, 3.0), layout="constrained")
    axes = figure.add_subplot()
    for kind, values in sorted(by_kind.items()):
        axes.hist(values, bins=30, range=(-0.2, 1.0), alpha=0.55, label=kind)
    axes.axvline(threshold, color=_RED, linestyle="--", label=f"threshold {threshold}")
    axes.set_xlabel("question-context cosine")
    axes.set_ylabel("records")
    axes.legend(frameon=False, fontsize=8)
    return _png(figure)


def before_after_bars(title: str, before: Mapping[str, float], after: Mapping[str, float],
                      ranges: Mapping[str, Sequence[float]]) -> str:
    names = list(before)
    figure = Figure(figsize=(6.5, 2.8), layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(names))
    axes.bar([p - 0.2 for p in positions], [before[n] for n in names], 0.4, label="before",
             color="#7f7f7f")
    axes.bar([p + 0.2 for p in positions], [after.get(n, 0) for n in names], 0.4, label="after",
             color=_BLUE)
    for p, name in zip(positions, names, strict=True):
        if name in ranges:
            low, high = ranges[name]
            axes.plot([p - 0.45, p + 0.45], [low, low], color=_GREEN, linewidth=1)
            axes.plot([p - 0.45, p + 0.45], [high, high], color=_GREEN, linewidth=1)
    axes.set_xticks(list(positions), names)
    axes.set_ylabel("share")
    axes.set_title(title)
    axes.legend(frameon=False, fontsize=8)
    return _png(figure)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, tuple):  # (text, css class)
                cells.append(f'<td class="{value[1]}">{escape(str(value[0]))}</td>')
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<td class="num">{escape(format_value(value))}</td>')
            else:
                cells.append(f"<td>{escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _verdict(value: float, low: float, high: float) -> tuple[str, str]:
    inside = low - 1e-9 <= value <= high + 1e-9
    return ("within" if inside else ("below" if value < low else "above"), "in" if inside
            else "out")


def _overview(stats: Mapping[str, Any]) -> str:
    counts = stats.get("counts", {})
    kinds = stats.get("kinds", {})
    all_kinds = sorted({k for split in kinds.values() for k in split})
    rows = [[name, counts.get(name, 0), *(kinds.get(name, {}).get(k, 0) for k in all_kinds)]
            for name in counts]
    total = sum(counts.values()) or 1
    overall = {k: sum(kinds.get(s, {}).get(k, 0) for s in kinds) for k in all_kinds}
    rows.append(["all", total, *(f"{overall[k]} ({_pct(overall[k] / total)})"
                                 for k in all_kinds)])
    return _table(["split", "records", *all_kinds], rows)


def _rejections(stats: Mapping[str, Any]) -> str:
    by_stage = stats.get("rejected_by_stage", {})
    if not by_stage:
        return '<p class="note">Nothing was rejected.</p>'
    return _table(["stage", "records dropped"], sorted(by_stage.items()))


def _review(review: Mapping[str, Any]) -> str:
    rounds = review.get("rounds", {})
    if not rounds:
        return ('<p class="note">No review decisions yet: <code>tunesmith data review export'
                "</code>, then <code>tunesmith data review import</code>.</p>")
    rows = []
    for name, r in rounds.items():
        low, high = r.get("expected", (0.0, 1.0))
        rows.append([name, r["reviewed"], r["rejected"], _pct(r["rate"]),
                     f"{_pct(low)}-{_pct(high)}", _verdict(r["rate"], low, high)])
    return _table(["round", "reviewed", "rejected", "rate", "seed's range", ""], rows)


def _balance(balance: Mapping[str, Any]) -> str:
    parts = []
    for split, report in balance.items():
        if "before" not in report.get("answerability", {}):
            continue
        answer = report["answerability"]
        level = report["difficulty"]
        tol = level["tolerance"]
        level_ranges = {k: (max(0.0, t - tol), t + tol) for k, t in level["targets"].items()}
        rows = [[f"answerability: {c}", _pct(answer["before"][c]), _pct(answer["after"][c]),
                 f"{_pct(lo)}-{_pct(hi)}", _verdict(answer["after"][c], lo, hi)]
                for c, (lo, hi) in answer["ranges"].items()]
        rows += [[f"difficulty: {d}", _pct(level["before"][d]), _pct(level["after"][d]),
                  f"{_pct(lo)}-{_pct(hi)}", _verdict(level["after"][d], lo, hi)]
                 for d, (lo, hi) in level_ranges.items()]
        parts.append(f"<h3>{escape(split)}: {report['before']} → {report['after']} records "
                     f"({report['dropped']} dropped)</h3>")
        parts.append(_table(["share", "before", "after", "target", ""], rows))
        if level.get("balanced") is False:
            parts.append(f'<p class="note">Difficulty not balanced: reaching its targets needs '
                         f'at least {level["drops_needed"]} drops, more than max_drop allows. '
                         "Generate more inferential and multi-hop records instead.</p>")
        if report.get("missing"):
            parts.append(f'<p class="note">No records of: {escape(", ".join(report["missing"]))}'
                         " (left out of balancing).</p>")
        if split == "train":
            parts.append(before_after_bars("answerability (train)", answer["before"],
                                           answer["after"], answer["ranges"]))
            parts.append(before_after_bars("difficulty (train)", level["before"],
                                           level["after"], level_ranges))
    return "".join(parts)


def _lengths(report: Mapping[str, Any], lengths: Mapping[str, Sequence[int]]) -> str:
    rows = []
    ranges = {}
    for field in ("question", "context", "answer"):
        r = report.get(field)
        if not r or not r.get("n"):
            continue
        ranges[field] = r["range"]
        rows.append([field, r["n"], r["min"], r["median"], r["max"],
                     f"{r['range'][0]}-{r['range'][1]}", _pct(r["within_range"]),
                     r["below"], r["above"]])
    table = _table(["field", "n", "min", "median", "max", "seed's range", "within",
                    "below", "above"], rows)
    note = f'<p class="note">Counted by: {escape(str(report.get("counted_by", "?")))}</p>'
    return table + note + length_histograms(lengths, ranges, str(report.get("counted_by", "")))


def _similarity(summary: Mapping[str, Any], by_kind: Mapping[str, Sequence[float]]) -> str:
    if not summary:
        return '<p class="note">Semantic validation was off.</p>'
    threshold = float(summary.get("threshold", 0.3))
    rows = [[kind, s["n"], s["mean"], s["p10"], s["median"], s["below_threshold"]]
            for kind, s in summary.items() if isinstance(s, Mapping)]
    table = _table(["kind", "n", "mean", "p10", "median", f"below {threshold}"], rows)
    return table + similarity_histogram(by_kind, threshold)


def render_data_report(name: str, stats: Mapping[str, Any],
                       lengths: Mapping[str, Sequence[int]],
                       similarity: Mapping[str, Sequence[float]]) -> str:
    quality = stats.get("quality", {})
    sections = [
        ("Records", _overview(stats)),
        ("Rejected, by stage", _rejections(stats)),
        ("Answer spans", _table(["method", "records"],
                                sorted(quality.get("spans", {}).items()))),
        ("Question-context similarity", _similarity(quality.get("similarity", {}),
                                                    similarity)),
        ("Human review", _review(stats.get("review", {}))),
        ("Balance", _balance(stats.get("balance", {}))),
        ("Token lengths", _lengths(stats.get("lengths", {}), lengths)),
    ]
    if stats.get("pii_redactions") is not None:
        sections.insert(2, ("PII redactions", _table(
            ["entity type", "redactions"], sorted(stats["pii_redactions"].items()))))
    if stats.get("skipped"):
        sections.insert(2, ("Skipped input", _table(
            ["where", "reason"], [[s.get("path", "?") + (f":{s['line']}" if s.get("line")
                                                         else ""), s.get("reason", "")]
                                  for s in stats["skipped"]])))
    body = "".join(f"<h2>{escape(title)}</h2>{html}" for title, html in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>data report: {escape(name)}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>Data report: {escape(name)}</h1><p class=\"note\">tunesmith {__version__}; "
            f"the numbers are those of stats.json</p>{body}</main></body></html>\n")


def write_data_report(out_dir: Path, name: str, stats: Mapping[str, Any],
                      lengths: Mapping[str, Sequence[int]],
                      similarity: Mapping[str, Sequence[float]]) -> Path:
    path = Path(out_dir) / "report.html"
    write_text_atomic(path, render_data_report(name, stats, lengths, similarity))
    return path
