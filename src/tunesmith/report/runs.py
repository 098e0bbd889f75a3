"""The runs under an output folder, read for the Runs page of ``tunesmith ui``.

Lenient like the report: a run folder missing a stage, or holding a damaged file, is listed
with what it has. Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunesmith.errors import TunesmithError
from tunesmith.report import plots
from tunesmith.report.markup import read_json_or_note, read_jsonl_lenient
from tunesmith.utils.layout import MANIFEST, RunLayout

_STAGE_ORDER = ("data", "model", "train", "guard", "eval")  # pipeline order; others after
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # RunConfig.name's pattern
# the scores shown side by side when runs are compared (SQuAD 2.0 names, then abstention)
COMPARED_METRICS = ("exact", "f1", "HasAns_f1", "NoAns_f1", "hallucination_rate",
                    "false_abstain_rate", "total")
Plot = Literal["loss", "learning_rate", "metrics"]


@dataclass(frozen=True)
class RunSummary:
    name: str
    path: Path
    stages: tuple[str, ...]  # stage folders with a manifest, in pipeline order
    updated: float  # newest manifest's modification time (seconds since the epoch)
    method: str | None  # the train stage's method
    metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # eval/metrics.json
    has_report: bool = False
    has_comparison: bool = False
    notes: tuple[str, ...] = ()  # files that could not be read


def _stage_key(name: str) -> tuple[int, str]:
    return (_STAGE_ORDER.index(name) if name in _STAGE_ORDER else len(_STAGE_ORDER), name)


def run_summary(run_dir: Path) -> RunSummary:
    layout = RunLayout(run_dir)
    manifests = sorted(run_dir.glob(f"*/{MANIFEST}"), key=lambda p: _stage_key(p.parent.name))
    notes: list[str] = []
    train, problem = read_json_or_note(layout.manifest("train"))
    notes += [problem] if problem else []
    metrics, problem = read_json_or_note(layout.eval_metrics)
    notes += [problem] if problem else []
    details = train.get("details", {}) if isinstance(train, Mapping) else {}
    return RunSummary(
        name=run_dir.name, path=run_dir,
        stages=tuple(p.parent.name for p in manifests),
        updated=max((p.stat().st_mtime for p in manifests), default=run_dir.stat().st_mtime),
        method=details.get("method") if isinstance(details, Mapping) else None,
        metrics={k: v for k, v in metrics.items() if isinstance(v, Mapping)}
        if isinstance(metrics, Mapping) else {},
        has_report=layout.report.is_file(),
        has_comparison=(layout.compare_dir / "comparison.json").is_file(),
        notes=tuple(notes))


def list_runs(output_dir: Path) -> list[RunSummary]:
    """Every folder under ``output_dir`` with a stage manifest or a report, newest first."""
    if not output_dir.is_dir():
        return []
    runs = [run_summary(p) for p in output_dir.iterdir()
            if p.is_dir() and _NAME.match(p.name)
            and (any(p.glob(f"*/{MANIFEST}")) or RunLayout(p).report.is_file())]
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def find_run(output_dir: Path, name: str) -> Path:
    """``output_dir/name`` when it is a run folder; a name with a path in it is refused."""
    path = output_dir / name
    if not _NAME.match(name) or not path.is_dir():
        raise TunesmithError(f"no run named {name!r} under {output_dir}")
    return path


def training_log(run_dir: Path) -> list[dict[str, Any]]:
    """The Trainer's logged entries (``train/metrics.jsonl``); malformed lines skipped."""
    path = RunLayout(run_dir).train_metrics
    return read_jsonl_lenient(path)[0] if path.is_file() else []


def available_plots(summary: RunSummary) -> list[Plot]:
    """The plots :func:`plot_png` can draw for the run (without drawing them)."""
    log = training_log(summary.path)
    has = {"loss": any(plots.series(log, k)[0] for k in ("loss", "eval_loss")),
           "learning_rate": bool(plots.series(log, "learning_rate")[0]),
           "metrics": bool(summary.metrics)}
    return [kind for kind in ("loss", "learning_rate", "metrics") if has[kind]]


def plot_png(run_dir: Path, kind: Plot) -> bytes | None:
    """A plot of the run (as the report draws it), or None when there is nothing to draw."""
    if kind == "metrics":
        return plots.metric_bars_png(run_summary(run_dir).metrics)
    log = training_log(run_dir)
    return plots.loss_curve_png(log) if kind == "loss" else plots.learning_rate_png(log)


def comparison(run_dir: Path) -> dict[str, Any] | None:
    """``tunesmith compare``'s result for the run (``meta`` and one row per method)."""
    content, problem = read_json_or_note(RunLayout(run_dir).compare_dir / "comparison.json")
    if problem:
        raise TunesmithError(problem)
    return content if isinstance(content, dict) else None


def side_by_side(runs: Sequence[RunSummary], models: Sequence[str] = ("tuned", "base"),
                 keys: Sequence[str] = COMPARED_METRICS) -> list[tuple[str, list[Any]]]:
    """Rows ``(model/metric, [value per run])`` for the scores any of ``runs`` has."""
    rows: list[tuple[str, list[Any]]] = []
    for model in models:
        for key in keys:
            values = [r.metrics.get(model, {}).get(key) for r in runs]
            if any(v is not None for v in values):
                rows.append((f"{model} {key}", values))
    return rows
