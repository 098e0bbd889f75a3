"""``tunesmith``: each command loads the config, calls one library function, and prints.

User mistakes (a bad config, a missing file, a malformed data line) end with a clear message
and a non-zero exit code, never a traceback: 2 for a config error, 1 for anything else.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from tunesmith import __version__
from tunesmith.cli.common import (
    ConfigArg,
    ForceOpt,
    JsonOpt,
    SetOpt,
    app,
    console,
    data_app,
    err_console,
    guarded,
    load_run_config,
)
from tunesmith.models.availability import check_base_model
from tunesmith.models.builtin import gguf_source
from tunesmith.pipeline import run_pipeline
from tunesmith.pipeline.distributed import Launch, train_distributed
from tunesmith.pipeline.score import score_run
from tunesmith.utils.io import write_text_atomic
from tunesmith.utils.layout import RunLayout


def _version(value: bool) -> None:
    if value:
        console.print(f"tunesmith {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """tunesmith: documents and a base model in; a tuned model and the evidence out."""


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for tunesmith.yaml.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a commented starter tunesmith.yaml."""
    target = directory / "tunesmith.yaml"
    if target.exists() and not force:
        err_console.print(f"error: {target} exists; pass --force to overwrite")
        raise typer.Exit(1)
    text = resources.files("tunesmith.config").joinpath("starter.yaml").read_text("utf-8")
    write_text_atomic(target, text)
    if as_json:
        print(json.dumps({"wrote": str(target)}, indent=2))
        return
    console.print(f"wrote {target}; next: put documents in {directory / 'docs'} and run "
                  f"`tunesmith run {target}`")


@app.command()
def validate(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Check a config; a misspelt key gets the nearest valid one (exit code 2 if invalid)."""
    cfg = load_run_config(config, set_)
    guarded(lambda: gguf_source(cfg.model.name))  # a .gguf file exists, a built-in's package too
    guarded(lambda: check_base_model(cfg.model))  # a folder or Hub name there, offline too
    if as_json:
        print(json.dumps(cfg.model_dump(mode="json"), indent=2))
    else:
        console.print(f"[green]✓[/green] {config} is valid (run '{cfg.name}', "
                      f"model {cfg.model.name}, method {cfg.method.name})")


def _run_until(config: Path, set_: list[str] | None, until: str, force: bool,
               as_json: bool, existing_run: bool = False) -> None:
    """The pipeline up to ``until``; ``existing_run``: the scoring stages alone (``eval``)."""
    cfg = load_run_config(config, set_)
    # with --json, stdout carries only the JSON; progress goes to stderr
    progress = err_console if as_json else console
    outcome = guarded(lambda: score_run(cfg, force=force, console=progress) if existing_run
                      else run_pipeline(cfg, until=until, force=force, console=progress))
    result: dict[str, Any] = {"run_dir": str(cfg.run_dir), "stages": outcome}
    metrics_path = RunLayout.of(cfg).eval_metrics
    if until == "eval" and metrics_path.exists():
        result["metrics"] = json.loads(metrics_path.read_text())
    if as_json:
        print(json.dumps(result, indent=2))
    elif "metrics" in result:
        _print_metrics(result["metrics"])


@app.command()
def run(config: ConfigArg, set_: SetOpt = None, force: ForceOpt = False,
        as_json: JsonOpt = False) -> None:
    """Run every stage in order (data, model, train, eval, report), skipping what is up to date."""
    _run_until(config, set_, "eval", force, as_json)


@app.command()
def train(
    config: ConfigArg, set_: SetOpt = None, force: ForceOpt = False, as_json: JsonOpt = False,
    nproc: Annotated[int | None, typer.Option(
        "--nproc", help="Train in N processes on this node: DDP through torchrun (gloo on a "
        "CPU), or DeepSpeed/FSDP through accelerate as plan.distributed says.")] = None,
    nnodes: Annotated[int, typer.Option("--nnodes", help="Nodes in the run (with --nproc "
                                        "and --rdzv; the same command on every node).")] = 1,
    rdzv: Annotated[str | None, typer.Option(
        "--rdzv", help="HOST:PORT of the rendezvous every node reaches (several nodes).")] = None,
    node_rank: Annotated[int | None, typer.Option(
        "--node-rank", help="This node's rank (DeepSpeed/FSDP launches on several nodes).")
    ] = None,
) -> None:
    """Fine-tune (building the data and the base model first if they are not up to date)."""
    if nproc is None:
        _run_until(config, set_, "train", force, as_json)
        return

    cfg = load_run_config(config, set_)
    progress = err_console if as_json else console
    outcome = guarded(lambda: train_distributed(
        cfg, config, list(set_ or []), force, Launch(nproc, nnodes, rdzv, node_rank), progress))
    if as_json:
        print(json.dumps({"run_dir": str(cfg.run_dir), "stages": outcome}, indent=2))


@app.command("eval")
def evaluate(config: ConfigArg, set_: SetOpt = None, force: ForceOpt = False,
             as_json: JsonOpt = False) -> None:
    """Score the run's tuned model and the base on eval.dataset, else the eval.split split
    (SQuAD 2.0 EM/F1, hallucination and false-abstain rates), as they are: unlike `run`, it
    never builds data, the base model or trains (an error if the run has no trained model)."""
    _run_until(config, set_, "eval", force, as_json, existing_run=True)


@app.command()
def report(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Write runs/<name>/report.html from what the run folder holds."""
    from tunesmith.report import write_report  # deferred: imports matplotlib

    cfg = load_run_config(config, set_)
    written = guarded(lambda: write_report(cfg.run_dir))
    if as_json:
        print(json.dumps({"report": str(written)}, indent=2))
        return
    console.print(f"report: {written}")


@data_app.command("build")
def data_build(config: ConfigArg, set_: SetOpt = None, force: ForceOpt = False,
               as_json: JsonOpt = False) -> None:
    """Ingest documents, generate questions and unanswerable pairs, split by document."""
    _run_until(config, set_, "data", force, as_json)


def _print_metrics(metrics: dict[str, dict[str, Any]]) -> None:
    from rich.table import Table

    keys = ["exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
            "hallucination_rate", "false_abstain_rate", "total"]
    sources = {str(m.get("eval_set")) for m in metrics.values() if m.get("eval_set")}
    title = f"SQuAD 2.0 scores on {', '.join(sorted(sources)) or 'the evaluation set'}"
    table = Table(title=title)
    table.add_column("metric")
    for label in metrics:
        table.add_column(label, justify="right")
    for key in keys:
        table.add_row(key, *(f"{metrics[m].get(key, float('nan')):.2f}" for m in metrics))
    console.print(table)


# Command groups register themselves on the apps when imported.
from tunesmith.cli import (  # noqa: E402,F401
    data_cmds,
    decide_cmds,
    guard_cmds,
    methods_cmds,
    plan_cmds,
    serve_cmds,
    ui_cmds,
)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
