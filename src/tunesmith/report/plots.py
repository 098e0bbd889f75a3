"""Static plots for the report, returned as PNG bytes ready to embed as data URIs.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas, never through ``pyplot``:
no global figure registry, no GUI backend, safe in a server or a thread (matplotlib's own advice
for web use). Each figure is still cleared after saving so its memory goes at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_DPI = 100
_TRAIN_COLOR = "#1f77b4"
_EVAL_COLOR = "#d62728"
# The SQuAD 2.0 scores worth a bar each; totals are counts, not scores.
_BAR_METRICS = ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1")


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite int or float, not a bool (JSON ``true`` is not a score)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def series(records: Iterable[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of every record holding a numeric ``step`` and a numeric ``key``."""
    steps: list[float] = []
    values: list[float] = []
    for record in records:
        step, value = record.get("step"), record.get(key)
        if is_number(step) and is_number(value):
            steps.append(float(step))
            values.append(float(value))
    return steps, values


def _to_png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)  # attaches itself as the figure's canvas
    buffer = io.BytesIO()
    # No "Software" metadata: the same inputs give the same bytes.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


def _style(axes: Any, xlabel: str, ylabel: str) -> None:
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)


def loss_curve_png(records: Sequence[Mapping[str, Any]]) -> bytes | None:
    """Training loss and eval loss against step, in one figure; None when neither was logged."""
    train_steps, train_loss = series(records, "loss")
    eval_steps, eval_loss = series(records, "eval_loss")
    if not train_steps and not eval_steps:
        return None
    figure = Figure(figsize=(7.5, 3.6), layout="constrained")
    axes = figure.add_subplot()
    if train_steps:
        axes.plot(train_steps, train_loss, color=_TRAIN_COLOR, linewidth=1.6, label="train loss")
    if eval_steps:
        axes.plot(eval_steps, eval_loss, color=_EVAL_COLOR, linewidth=1.6, marker="o",
                  markersize=4, label="eval loss")
    _style(axes, "step", "loss")
    axes.set_title("Loss curves")
    axes.legend(frameon=False)
    return _to_png(figure)


def learning_rate_png(records: Sequence[Mapping[str, Any]]) -> bytes | None:
    """The learning-rate schedule against step; None when it was not logged."""
    steps, rates = series(records, "learning_rate")
    if not steps:
        return None
    figure = Figure(figsize=(7.5, 2.2), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(steps, rates, color="#2ca02c", linewidth=1.4)
    axes.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    _style(axes, "step", "learning rate")
    axes.set_title("Learning rate")
    return _to_png(figure)


def metric_bars_png(metrics: Mapping[str, Mapping[str, Any]]) -> bytes | None:
    """Grouped bars of the SQuAD 2.0 scores per model (base, tuned, ...); None when none."""
    models = [name for name, values in metrics.items() if isinstance(values, Mapping)]
    keys = [k for k in _BAR_METRICS if any(is_number(metrics[m].get(k)) for m in models)]
    if not models or not keys:
        return None
    figure = Figure(figsize=(7.5, 3.2), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(models)
    palette = ("#7f7f7f", _TRAIN_COLOR, "#ff7f0e", "#2ca02c", "#9467bd")
    for index, model in enumerate(models):
        values = [metrics[model].get(k) for k in keys]
        heights = [float(v) if is_number(v) else 0.0 for v in values]
        positions = [i + (index - (len(models) - 1) / 2) * width for i in range(len(keys))]
        axes.bar(positions, heights, width=width, label=model,
                 color=palette[index % len(palette)])
    axes.set_xticks(range(len(keys)), keys)
    _style(axes, "", "score")
    axes.set_title("Scores per model")
    axes.legend(frameon=False)
    return _to_png(figure)


def labelled_bars_png(values: Mapping[str, Any], colors: Mapping[str, str], title: str,
                      ylabel: str, line: float | None = None,
                      line_label: str = "") -> bytes | None:
    """One bar per numeric value (``colors[label]``, grey by default), the value on top, and
    an optional horizontal reference line (a target); None when there is nothing to draw."""
    labels = [k for k, v in values.items() if is_number(v)]
    if not labels:
        return None
    figure = Figure(figsize=(7.5, 3.4), layout="constrained")
    axes = figure.add_subplot()
    heights = [float(values[k]) for k in labels]
    bars = axes.bar(range(len(labels)), heights,
                    color=[colors.get(k, "#7f7f7f") for k in labels])
    axes.bar_label(bars, fmt="%.1f", fontsize=8)
    if line is not None:
        axes.axhline(line, color=_EVAL_COLOR, linestyle="--", linewidth=1.2, label=line_label)
        axes.legend(frameon=False, loc="upper left")
    axes.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    _style(axes, "", ylabel)
    axes.set_title(title)
    return _to_png(figure)


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
