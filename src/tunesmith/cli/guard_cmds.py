"""``tunesmith answer | calibrate``: answer only with sufficient context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tunesmith.cli.common import (
    ConfigArg,
    ForceOpt,
    JsonOpt,
    SetOpt,
    app,
    console,
    err_console,
    guarded,
    load_run_config,
)
from tunesmith.errors import TunesmithError
from tunesmith.guard import Guard, validate_output
from tunesmith.pipeline import run_pipeline
from tunesmith.utils.io import read_json
from tunesmith.utils.layout import RunLayout


@app.command()
def answer(
    config: ConfigArg,
    question: Annotated[str, typer.Option("--question", "-q", help="The question.")],
    context: Annotated[str | None, typer.Option("--context", "-c", help="The context text.")]
    = None,
    context_file: Annotated[Path | None, typer.Option(
        "--context-file", "-f", help="Read the context from this file.")] = None,
    set_: SetOpt = None,
    model: Annotated[str, typer.Option(
        "--model", help="'tuned' (default) or 'base' (the model before fine-tuning).")]
    = "tuned",
) -> None:
    """One guarded answer as JSON (answer, confidence_score, rejection_flag, the gates and
    their values), validated against the published schema (docs/guard.md)."""
    cfg = load_run_config(config, set_)

    def body() -> dict[str, Any]:
        if (context is None) == (context_file is None):
            raise TunesmithError("give exactly one of --context and --context-file")
        if model not in ("tuned", "base"):
            raise TunesmithError(f"--model must be 'tuned' or 'base', not {model!r}")
        text = context if context is not None else _read(context_file)
        if not question.strip() or not text.strip():
            raise TunesmithError("the question and the context must not be empty")
        # progress goes to stderr: stdout holds the JSON alone
        result = Guard(cfg, label=model).answer(question, text, err_console).to_json()
        validate_output(result)
        return result

    print(json.dumps(guarded(body), indent=2, ensure_ascii=False))


def _read(path: Path | None) -> str:
    assert path is not None
    if not path.is_file():
        raise TunesmithError(f"--context-file: {path} is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TunesmithError(f"--context-file: {path} is not UTF-8 text ({exc.reason})") from None


@app.command()
def calibrate(config: ConfigArg, set_: SetOpt = None, force: ForceOpt = False,
              as_json: JsonOpt = False) -> None:
    """Choose each gate's threshold on the validation split (building and training first if
    needed); writes runs/<name>/guard/thresholds.json and shows seed defaults against them."""
    cfg = load_run_config(config, set_)
    progress = err_console if as_json else console
    guarded(lambda: run_pipeline(cfg, until="guard", force=force, console=progress))
    layout = RunLayout.of(cfg)
    calibration = read_json(layout.calibration)
    if as_json:
        print(json.dumps({"thresholds": str(layout.thresholds),
                          **calibration}, indent=2))
        return
    for label, data in calibration.items():
        table = Table(title=f"{label}: seed defaults against calibrated thresholds "
                            f"(SQuAD 2.0 F1 on {data['examples']} validation questions)")
        for column in ("gate", "seed default", "F1 at seed", "calibrated", "F1 calibrated"):
            table.add_column(column, justify="left" if column == "gate" else "right")
        for row in data["table"]:
            table.add_row(row["gate"] + ("" if row["has_signal"] else " (no signal)"),
                          f"{row['seed_default']:.4g}", f"{row['seed_f1']:.2f}",
                          f"{row['calibrated']:.4g}", f"{row['calibrated_f1']:.2f}")
        console.print(table)
        console.print(f"  all gates at seed defaults: F1 {data['f1_all_seed_defaults']:.2f}; "
                      f"calibrated: F1 {data['f1_calibrated']:.2f}; no gates: "
                      f"{data['f1_no_gates']:.2f}; always abstain: "
                      f"{data['f1_always_abstain']:.2f}; expected calibration error "
                      f"{data['reliability']['ece']:.3f}")
    console.print(f"thresholds: {layout.thresholds}; reliability "
                  f"diagram: {layout.reliability_png}")
