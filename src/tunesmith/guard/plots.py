"""The guard's plots: the reliability diagram and the coverage-risk curve (PNG bytes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from tunesmith.report.plots import _style, _to_png


def reliability_png(reliability: Mapping[str, Mapping[str, Any]]) -> bytes | None:
    """Accuracy against confidence per bin, one line per model; the diagonal is calibrated."""
    if not reliability:
        return None
    figure = Figure(figsize=(5, 4))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for label, data in reliability.items():
        bins = [b for b in data["bins"] if b["count"]]
        axes.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                  label=f"{label} (ECE {data['ece']:.3f})")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    _style(axes, "confidence_score", "share correct")
    axes.legend(fontsize=8)
    return _to_png(figure)


def coverage_risk_png(curves: Mapping[str, Mapping[str, Any]]) -> bytes | None:
    """Risk (1 - F1 of the answered) against coverage, one line per model, AURC in the legend."""
    if not curves:
        return None
    figure = Figure(figsize=(5, 4))
    axes = figure.add_subplot()
    for label, curve in curves.items():
        axes.plot(curve["coverage"], curve["risk"], label=f"{label} (AURC {curve['aurc']:.3f})")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    _style(axes, "coverage (share answered)", "risk (1 - F1 of answered)")
    axes.legend(fontsize=8)
    return _to_png(figure)
