"""``tunesmith data ...``: import, export, card, version, size (build lives in ``main``).

Each command loads its input, calls one library function and prints; with ``--json`` stdout
carries only the JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from tunesmith.cli.common import (
    ConfigArg,
    JsonOpt,
    SetOpt,
    StrictOpt,
    console,
    data_app,
    err_console,
    guarded,
    load_run_config,
    out_path,
)
from tunesmith.config.data_io import PIIConfig
from tunesmith.config.guard import GuardConfig
from tunesmith.data.card import write_card_for_run
from tunesmith.data.formats import EXPORTERS
from tunesmith.data.formats.base import import_dataset
from tunesmith.data.review import ReviewError, export_round, import_round, load_rounds, review_rates
from tunesmith.data.schema import read_records, unique_ids, write_records
from tunesmith.data.size import size_report
from tunesmith.data.stats import measure_built_lengths
from tunesmith.data.version import version_data
from tunesmith.utils.io import DataFileError
from tunesmith.utils.layout import RunLayout

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="File to write.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="tunesmith.yaml whose guard/pii settings to use."),
]


def _emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))


def _print_skips(skipped: list[Any], limit: int = 10, verb: str = "skipped") -> None:
    for skip in skipped[:limit]:
        err_console.print(f"  {verb} {skip.where()}: {skip.reason}", highlight=False,
                          soft_wrap=True)
    if len(skipped) > limit:
        err_console.print(f"  ... and {len(skipped) - limit} more")


@data_app.command("import")
def data_import(
    fmt: Annotated[str, typer.Argument(help="squad | nq | hotpotqa")],
    src: Annotated[Path, typer.Argument(help="The dataset file.")],
    out: OutOpt,
    pii: Annotated[bool, typer.Option("--pii", help="Redact PII (data.pii of --config, or "
                                                    "the defaults) with offsets remapped.")
                   ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a public QA dataset (SQuAD 2.0, Natural Questions simplified, HotpotQA) into
    tunesmith QA records (JSONL). Entries that cannot be imported are skipped and listed; a
    file with none that can exits 1."""
    def run() -> dict[str, Any]:
        target = out_path(out)
        result = import_dataset(fmt, src)
        records = result.records
        redactions: Counter[str] = Counter()
        if pii:
            # deferred: importing it loads presidio_analyzer, spacy, torch
            from tunesmith.data.quality.pii import PIIRedactor

            settings = (load_run_config(config, None).data.pii if config else PIIConfig())
            redactor = PIIRedactor(settings.model_copy(update={"enabled": True}))
            redacted = []
            for record in records:
                new, counts = redactor.redact_record(record)
                redacted.append(new)
                redactions.update(counts)
            records = redacted
        write_records(target, records)
        return {"out": str(target), "records": len(records),
                "kinds": dict(Counter(r.kind for r in records)),
                "skipped": [s.to_dict() for s in result.skipped],
                "notes": [s.to_dict() for s in result.notes],
                "pii_redactions": dict(redactions), "_skips": result.skipped,
                "_notes": result.notes}

    summary = guarded(run)
    skips, notes = summary.pop("_skips"), summary.pop("_notes")
    _print_skips(skips)  # stderr: with --json, stdout stays the JSON alone
    _print_skips(notes, verb="note:")
    if as_json:
        _emit(summary, True)
        return
    console.print(f"imported {summary['records']} records {summary['kinds']} -> "
                  f"{summary['out']}" + (f"; {len(skips)} skipped" if skips else "")
                  + (f"; {len(notes)} notes" if notes else "")
                  + (f"; PII redacted {summary['pii_redactions']}" if pii else ""))


def _read_input(src: Path, strict: bool) -> tuple[list[Any], list[Any]]:
    """QA records from ``src`` and the bad lines skipped (none: ``--strict`` raises)."""
    skipped: list[Any] | None = None if strict else []
    try:
        records = read_records(src.expanduser(), skipped)
    except DataFileError as exc:
        raise DataFileError(f"{exc} (--strict)" if strict else str(exc)) from None
    return records, skipped or []


@data_app.command("export")
def data_export(
    fmt: Annotated[str, typer.Argument(help="squad | prompt | chat | alpaca | sharegpt")],
    src: Annotated[Path, typer.Argument(help="QA records (JSONL), e.g. runs/<name>/data/"
                                             "train.jsonl")],
    out: OutOpt,
    config: ConfigOpt = None,
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Export QA records to SQuAD 2.0 JSON or a training format (prompt/completion JSONL,
    chat messages, Alpaca, ShareGPT). Bad lines are skipped and listed; a repeated id is
    renamed (id-2, ...) with a note."""
    def run() -> dict[str, Any]:
        exporter = EXPORTERS.get(fmt)
        target = out_path(out)
        guard = load_run_config(config, None).guard if config else GuardConfig()
        records, skipped = _read_input(src, strict)
        if not records:
            raise DataFileError(f"{src}: no records to export")
        records, renamed = unique_ids(records)
        count = exporter.write(records, target, guard)
        return {"out": str(target), "format": fmt, "records": count,
                "skipped": [s.to_dict() for s in skipped], "notes": renamed,
                "_skips": skipped}

    summary = guarded(run)
    skips = summary.pop("_skips")
    _print_skips(skips)  # stderr: with --json, stdout stays the JSON alone
    for note in summary["notes"]:
        err_console.print(f"  note: {note}", highlight=False)
    if as_json:
        _emit(summary, True)
        return
    console.print(f"exported {summary['records']} records as {fmt} -> {summary['out']}"
                  + (f"; {len(skips)} lines skipped" if skips else ""))


@data_app.command("size")
def data_size(
    target: Annotated[Path, typer.Argument(help="tunesmith.yaml (its built data) or a "
                                                "records JSONL file.")],
    set_: SetOpt = None,
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Place the dataset in the seed's tiers (proof of concept, MVP, enterprise) and estimate
    the annotation cost."""
    skipped: list[Any] | None = None if strict else []
    report = guarded(lambda: size_report(target, set_, skipped))
    report["skipped"] = [s.to_dict() for s in skipped or []]
    _print_skips(skipped or [])  # stderr: with --json, stdout stays the JSON alone
    if as_json:
        _emit(report, True)
        return
    from rich.table import Table

    table = Table(title=f"{report['examples']} examples: {report['tier_label']}")
    for column in ("tier", "minimum", "ideal", "seed cost", "status"):
        table.add_column(column)
    for tier in report["tiers"]:
        table.add_row(tier["label"], f"{tier['minimum']:,}", f"{tier['ideal']:,}",
                      tier["seed_cost"], tier["status"])
    console.print(table)
    cost = report["annotation_cost"]
    console.print(f"annotation/curation at ${cost['per_example'][0]:g}-"
                  f"${cost['per_example'][1]:g} per example: "
                  f"${cost['low']:,.0f}-${cost['high']:,.0f}")
    if report["next_tier"]:
        nxt = report["next_tier"]
        console.print(f"{nxt['missing']:,} more examples reach {nxt['label']} "
                      f"(${nxt['cost_low']:,.0f}-${nxt['cost_high']:,.0f} to annotate)")


@data_app.command("card")
def data_card(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """(Re)write runs/<name>/data/README.md, the data card, from a built run."""
    cfg = load_run_config(config, set_)
    path = guarded(lambda: write_card_for_run(cfg))
    if as_json:
        _emit({"card": str(path)}, True)
    else:
        console.print(f"data card: {path}")


@data_app.command("version")
def data_version(
    config: ConfigArg,
    set_: SetOpt = None,
    message: Annotated[str | None, typer.Option("--message", "-m",
                                                help="Note for the update history.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Version the built data with DVC: init if needed, add, commit the .dvc file, push to the
    remote (a local folder by default; S3/GCS by data.version.remote)."""
    cfg = load_run_config(config, set_)
    progress = err_console if as_json else console
    result = guarded(lambda: version_data(cfg, message=message, console=progress))
    if as_json:
        _emit(result, True)
    else:
        console.print(f"versioned {result['data_dir']} as {result['md5']} "
                      f"(.dvc: {result['dvc_file']}; remote {result['remote']}"
                      + (f"; git commit {result['git_commit'][:10]}" if result['git_commit']
                         else "") + ")")


# -- review rounds and data stats (H-data-qc) --------------------------------------------------

review_app = typer.Typer(help="Human review rounds: export, import decisions, rates.",
                         no_args_is_help=True)
data_app.add_typer(review_app, name="review")
RoundOpt = Annotated[str, typer.Option("--round", "-r", help="Review round: correctness, "
                                       "relevance or adjudication (data.review.expected).")]


def _print_rates(rates: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Review rounds: rejection rate against the seed's range")
    for column in ("round", "reviewed", "rejected", "rate", "expected", ""):
        table.add_column(column, justify="right" if column in ("reviewed", "rejected",
                                                               "rate") else "left")
    for name, r in rates["rounds"].items():
        low, high = r["expected"]
        table.add_row(name, str(r["reviewed"]), str(r["rejected"]), f"{r['rate']:.1%}",
                      f"{low:.0%}-{high:.0%}", "[green]within[/green]" if r["within"]
                      else "[red]outside[/red]")
    console.print(table)


@review_app.command("export")
def review_export(
    config: ConfigArg,
    round_name: RoundOpt = "correctness",
    out: OutOpt = Path("review.csv"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, or json (Label Studio / "
                                     "Argilla).")] = "csv",
    split: Annotated[str, typer.Option(help="train, val, test or all.")] = "all",
    sample: Annotated[int | None, typer.Option(help="Review a seeded sample of N records.")]
    = None,
    set_: SetOpt = None,
    strict: StrictOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the records a round reviews (those no earlier round rejected) for reviewers."""
    cfg = load_run_config(config, set_)
    skipped: list[Any] | None = None if strict else []

    def run() -> tuple[list[Path], int]:
        target = out_path(out)
        if fmt not in ("csv", "json"):
            raise ReviewError(f"--format {fmt!r}: expected csv or json")
        if split not in ("train", "val", "test", "all"):
            raise ReviewError(f"--split {split!r}: expected train, val, test or all")
        return export_round(RunLayout.of(cfg).data_dir, cfg.resolve(cfg.data.review.dir),
                            list(cfg.data.review.expected), round_name, target,
                            "csv" if fmt == "csv" else "json", split, sample, cfg.seed,
                            skipped)

    files, count = guarded(run)
    _print_skips(skipped or [])  # stderr: with --json, stdout stays the JSON alone
    if as_json:
        _emit({"round": round_name, "records": count, "files": [str(f) for f in files],
               "skipped": [s.to_dict() for s in skipped or []]}, True)
    else:
        console.print(f"round {round_name}: {count} records to review in "
                      f"{', '.join(str(f) for f in files)}")


@review_app.command("import")
def review_import(
    config: ConfigArg,
    path: Annotated[Path, typer.Argument(help="Reviewed CSV, or Label Studio JSON export.")],
    round_name: RoundOpt = "correctness",
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save reviewers' decisions for a round; the next `data build` applies them."""
    cfg = load_run_config(config, set_)
    saved, rates = guarded(lambda: import_round(
        cfg.resolve(cfg.data.review.dir), list(cfg.data.review.expected), round_name,
        path.expanduser(),
        cfg.data.review.expected))
    if as_json:
        _emit({"saved": str(saved), **rates}, True)
    else:
        console.print(f"saved {saved}; run `tunesmith data build` to apply")
        _print_rates(rates)


@review_app.command("stats")
def review_stats(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Rejection rate of every saved round against the seed's expected range."""
    cfg = load_run_config(config, set_)
    rounds = list(cfg.data.review.expected)
    rates = guarded(lambda: review_rates(load_rounds(cfg.resolve(cfg.data.review.dir), rounds),
                                         cfg.data.review.expected))
    if as_json:
        _emit(rates, True)
    elif not rates["rounds"]:
        console.print("no review decisions yet: `tunesmith data review export`, then `import`")
    else:
        _print_rates(rates)


@data_app.command("stats")
def data_stats(config: ConfigArg, set_: SetOpt = None, strict: StrictOpt = False,
               as_json: JsonOpt = False) -> None:
    """Token lengths of the built data against the seed's ranges, re-measured with the model's
    tokenizer where it can be loaded (the built-in model's, once its stage has run)."""
    cfg = load_run_config(config, set_)
    skipped: list[Any] | None = None if strict else []
    report = guarded(lambda: measure_built_lengths(cfg, skipped))
    _print_skips(skipped or [])  # stderr: with --json, stdout stays the JSON alone
    if as_json:
        _emit({**report, "skipped": [s.to_dict() for s in skipped or []]}, True)
        return
    console.print(f"token lengths, counted by {report['counted_by']}:")
    for field in ("question", "context", "answer"):
        r = report.get(field, {})
        if r.get("n"):
            console.print(f"  {field:8} n={r['n']:<6} median {r['median']:<5} range "
                          f"{r['min']}-{r['max']}; {r['within_range']:.0%} within the seed's "
                          f"{r['range'][0]}-{r['range'][1]} ({r['below']} below, "
                          f"{r['above']} above)")
