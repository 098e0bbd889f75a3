"""Runs: every run under ``output_dir``, one run's metrics, plots, report and ``tunesmith
compare`` table, and runs side by side (all read by :mod:`tunesmith.report.runs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from tunesmith.compare.report import COLUMNS, SEED_TABLE
from tunesmith.errors import TunesmithError
from tunesmith.report.html import render_metric_table
from tunesmith.report.runs import (
    Plot,
    available_plots,
    comparison,
    find_run,
    list_runs,
    plot_png,
    run_summary,
    side_by_side,
)
from tunesmith.ui.pages import UIState, render
from tunesmith.utils.layout import RunLayout

router = APIRouter()


def _output_dir(request: Request) -> Path:
    ui: UIState = request.app.state.ui
    return Path(ui.config.output_dir)


def _run(request: Request, name: str) -> Path:
    try:
        return find_run(_output_dir(request), name)
    except TunesmithError as exc:  # an unknown run is a missing page
        raise HTTPException(404, str(exc)) from None


@router.get("/runs")
def runs_page(request: Request) -> Response:
    return render(request, "run/list.html", {"runs": list_runs(_output_dir(request)),
                                              "output_dir": _output_dir(request)})


@router.get("/runs/{name}")
def run_page(request: Request, name: str) -> Response:
    run_dir = _run(request, name)
    summary = run_summary(run_dir)
    return render(request, "run/page.html", {
        "run": summary,
        "metric_table": render_metric_table(summary.metrics) if summary.metrics else "",
        "comparison": comparison(run_dir), "columns": COLUMNS, "seed_table": SEED_TABLE,
        "plots": available_plots(summary)})


@router.get("/runs/{name}/report.html")
def run_report(request: Request, name: str) -> Response:
    path = RunLayout(_run(request, name)).report
    if not path.is_file():
        raise HTTPException(404, f"{path}: no report yet; `tunesmith report CONFIG` writes it")
    return FileResponse(path, media_type="text/html")


@router.get("/runs/{name}/plots/{kind}.png")
def run_plot(request: Request, name: str, kind: Plot) -> Response:
    png = plot_png(_run(request, name), kind)
    if png is None:
        raise HTTPException(404, f"run {name!r}: nothing to plot for {kind!r} yet")
    return Response(png, media_type="image/png")


@router.get("/runs/{name}/comparison.png")
def comparison_plot(request: Request, name: str) -> Response:
    path = RunLayout(_run(request, name)).compare_dir / "comparison.png"
    if not path.is_file():
        raise HTTPException(404, f"run {name!r}: no comparison plot; `tunesmith compare` "
                            "draws it")
    return FileResponse(path, media_type="image/png")


@router.get("/compare")
def compare_page(request: Request,
                 run: Annotated[list[str] | None, Query()] = None) -> Response:
    chosen = [run_summary(_run(request, name)) for name in dict.fromkeys(run or [])]
    if len(chosen) < 2:
        raise HTTPException(400, "tick at least two runs to compare them side by side")
    return render(request, "run/compare.html", {"runs": chosen, "rows": side_by_side(chosen)})
