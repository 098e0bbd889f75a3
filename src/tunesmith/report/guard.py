"""The report's "Guard" section: thresholds (seed against calibrated), the reliability diagram,
abstention metrics, the coverage-risk curve, each gate's AUROC and the per-gate ablation."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from tunesmith.report.plots import coverage_risk_png
from tunesmith.utils.layout import RunLayout


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_num(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return (f'<img alt="{escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">')


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def guard_section(run_dir: Path) -> str:
    """HTML for the guard: empty-handed runs get a note, never an error."""
    parts: list[str] = []
    layout = RunLayout(run_dir)
    calibration = _load(layout.calibration)
    if isinstance(calibration, Mapping):
        for label, data in calibration.items():
            parts.append(f"<h3>Thresholds: {escape(label)} (SQuAD 2.0 F1 on "
                         f"{data.get('examples')} validation questions)</h3>")
            parts.append(_table(
                ["gate", "seed default", "F1 at seed", "calibrated", "F1 calibrated", "source"],
                [[r["gate"], r["seed_default"], r["seed_f1"], r["calibrated"],
                  r["calibrated_f1"], r["source"]] for r in data.get("table", [])]))
            seed_f1 = _num(data.get("f1_all_seed_defaults"))
            parts.append(f"<p>All gates at seed defaults: F1 {seed_f1}; calibrated: "
                         f"{_num(data.get('f1_calibrated'))}; no gates: "
                         f"{_num(data.get('f1_no_gates'))}; always abstain: "
                         f"{_num(data.get('f1_always_abstain'))}; expected calibration error "
                         f"{_num(data.get('reliability', {}).get('ece'))}.</p>")
        png = layout.reliability_png
        if png.exists():
            parts.append(_img(png.read_bytes(), "reliability diagram"))
    metrics = _load(layout.eval_metrics)
    if isinstance(metrics, Mapping):
        models = [m for m, v in metrics.items() if isinstance(v, Mapping) and "abstain_f1" in v]
        keys = ["f1", "HasAns_f1", "NoAns_f1", "best_f1", "abstain_precision", "abstain_recall",
                "abstain_f1", "hallucination_rate", "false_abstain_rate", "aurc"]
        if models:
            parts.append("<h3>Abstention (positive = should abstain)</h3>")
            parts.append(_table(["model", *keys],
                                [[m, *(metrics[m].get(k) for k in keys)] for m in models]))
            curves = {m: metrics[m]["coverage_risk"] for m in models
                      if isinstance(metrics[m].get("coverage_risk"), Mapping)}
            parts.append(_img(coverage_risk_png(curves), "coverage-risk curve"))
            for m in models:
                aucs = metrics[m].get("gate_auroc")
                if aucs:
                    parts.append(f"<h3>Per-gate AUROC (should abstain): {escape(m)}</h3>")
                    parts.append(_table(["gate", "AUROC", "questions with a signal"],
                                        [[r["gate"], r.get("auroc"), r.get("with_signal")]
                                         for r in aucs]))
                rows = metrics[m].get("ablation")
                if rows:
                    parts.append(f"<h3>Per-gate ablation: {escape(m)}</h3>")
                    parts.append(_table(
                        ["setting", "F1", "HasAns F1", "NoAns F1", "abstain F1",
                         "hallucination rate"],
                        [[r["setting"], r["f1"], r.get("HasAns_f1"), r.get("NoAns_f1"),
                          r["abstain_f1"], r["hallucination_rate"]] for r in rows]))
    if not parts:
        return ('<p class="note">No guard results yet: run <code>tunesmith calibrate</code> '
                "and <code>tunesmith eval</code>.</p>")
    return "\n".join(parts)
