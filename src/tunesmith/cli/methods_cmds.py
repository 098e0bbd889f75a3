"""``tunesmith compare``: the same budget for each fine-tuning method, measured."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tunesmith.cli.common import (
    ConfigArg,
    ForceOpt,
    JsonOpt,
    SetOpt,
    app,
    console,
    err_console,
    guarded,
)
from tunesmith.utils.io import write_text_atomic


@app.command()
def compare(
    config: ConfigArg,
    methods: Annotated[str | None, typer.Option(
        "--methods", help="Comma-separated method names, or 'all' (every registered method: "
        "`tunesmith methods` lists them); default all. With --forgetting: the methods trained "
        "without mitigation as isolation contrasts (default full, or lora if the config's "
        "method is full).")] = None,
    max_steps: Annotated[int, typer.Option(
        "--max-steps", min=1, help="Optimizer steps per method (the shared budget).")] = 20,
    as_json: JsonOpt = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the rows (one per method) and the shared budget as JSON to "
        "this file (the run folder's compare/*.json holds them too).")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1, help="Seconds one method may take before it becomes an error row.")
    ] = 3600,
    jobs: Annotated[int, typer.Option(
        "--jobs", min=1, help="Methods trained at once, each in its own process (tokens/s "
        "then shares the CPU).")] = 1,
    set_: SetOpt = None,
    method_set: Annotated[list[str] | None, typer.Option(
        "--method-set", help="Override a key for one method only: "
        "--method-set prompt_tuning:train.learning_rate=3e-2 (repeatable; shown in the table).")
    ] = None,
    force: ForceOpt = False,
    forgetting: Annotated[bool, typer.Option(
        "--forgetting", help="Compare the forgetting mitigations instead: the config's method "
        "without and with EWC, replay and the curriculum, and the isolation contrasts; task "
        "gain against general loss (runs/<name>/compare/forgetting.{md,json,png}).")] = False,
) -> None:
    """Train and score each method on the same data, seed, step budget and evaluation.

    Reports trainable parameters, peak memory, training tokens/s, eval loss against the base
    model's and SQuAD 2.0 F1 (also as a % of full fine-tuning), beside the seed's own table.
    Writes runs/<name>/compare/comparison.{md,json,png}; each method runs in its own process.
    Methods already measured with the same config and budget are reused (--force re-runs).
    With --forgetting: each forgetting mitigation against none, and an adapter against full
    fine-tuning, each also probed for general ability (docs/forgetting.md).
    """
    # deferred: importing it loads torch, transformers
    from tunesmith.compare import compare_methods, resolve_methods

    if forgetting:  # the isolation contrasts; compare.forgetting picks them when none is given
        names = guarded(lambda: resolve_methods(methods)) if methods else []
    else:
        names = guarded(lambda: resolve_methods(methods or "all"))
    own: dict[str, list[str]] = {}
    for item in method_set or []:
        name, sep, assignment = item.partition(":")
        if not sep or "=" not in assignment:
            err_console.print(f"error: --method-set {item!r}: expected METHOD:KEY.PATH=VALUE")
            raise typer.Exit(2)
        own.setdefault(name.strip(), []).append(assignment.strip())
    progress = err_console if as_json else console
    # with --json, stdout holds the JSON alone: what else writes there (DeepSpeed's logger,
    # the tiny model's pre-training bar) goes to stderr with the progress
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        result = guarded(lambda: compare_methods(config, names, set_ or [], max_steps, timeout,
                                                 progress, jobs, force, own, forgetting))
    text = json.dumps({"meta": result.meta, "rows": result.rows}, indent=2)
    if out is not None:
        write_text_atomic(out, text + "\n")
    if as_json:
        print(text)
        return
    stem = "forgetting" if forgetting else "comparison"
    console.print((result.out_dir / f"{stem}.md").read_text(encoding="utf-8"))
    console.print(f"wrote {result.out_dir}/{stem}.md, .json, .png"
                  + (f" and {out}" if out else ""))


@app.command("methods")
def list_methods(as_json: JsonOpt = False) -> None:
    """List every registered fine-tuning method: family, mergeable, paper."""
    from rich.table import Table

    from tunesmith.methods import METHODS  # deferred: imports torch

    info = [{"name": n, "family": METHODS.get(n).family, "mergeable": METHODS.get(n).mergeable,
             "paper": METHODS.get(n).paper} for n in METHODS.names()]
    if as_json:
        print(json.dumps(info, indent=2))
        return
    table = Table(title="fine-tuning methods (method.name)")
    for column in ("name", "family", "mergeable", "paper"):
        table.add_column(column)
    for item in info:
        table.add_row(str(item["name"]), str(item["family"]),
                      "yes" if item["mergeable"] else "no", str(item["paper"]))
    console.print(table)
