"""``tunesmith decide``: should we fine-tune at all?"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from rich.table import Table

from tunesmith.cli.common import (
    ConfigArg,
    JsonOpt,
    SetOpt,
    app,
    console,
    err_console,
    guarded,
    load_run_config,
)
from tunesmith.pipeline import run_pipeline
from tunesmith.utils.layout import RunLayout

_COLUMNS = (("questions", "n", "{:.0f}"), ("exact", "EM", "{:.1f}"), ("f1", "F1", "{:.1f}"),
            ("hallucination_rate", "halluc.", "{:.2f}"),
            ("false_abstain_rate", "false abst.", "{:.2f}"), ("p50_ms", "p50 ms", "{:.0f}"),
            ("p95_ms", "p95 ms", "{:.0f}"), ("format_adherence", "format", "{:.2f}"),
            ("recall_at_k", "recall@k", "{:.2f}"), ("f1_gold_context", "F1 gold ctx", "{:.1f}"),
            ("bleu", "BLEU", "{:.1f}"),
            ("rouge_l", "ROUGE-L", "{:.1f}"))


@app.command()
def decide(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Should we fine-tune at all? Score zero-shot, few-shot, chain-of-thought and RAG (BM25,
    MiniLM) baselines with the base model on the validation split, weigh the seed's criteria
    (performance gap, data, non-public knowledge, format, latency) and the cost-benefit, and
    recommend: prompt, RAG, fine-tune or RAG + fine-tune. Writes runs/<name>/decide/."""
    # deferred: importing these loads safetensors, torch, transformers, matplotlib
    from tunesmith.decide import run_decide
    from tunesmith.report import write_report

    cfg = load_run_config(config, set_)
    progress = err_console if as_json else console  # with --json, stdout holds the JSON alone

    def body() -> dict[str, Any]:
        run_pipeline(cfg, until="model", console=progress, report=False)  # data, base model
        decision = run_decide(cfg, progress)
        write_report(cfg.run_dir)
        return decision

    # with --json, what libraries print while they load (DeepSpeed's logger, imported through
    # transformers and accelerate, writes to stdout) goes to stderr with the progress
    with contextlib.redirect_stdout(sys.stderr if as_json else sys.stdout):
        decision = guarded(body)
    if as_json:
        print(json.dumps(decision, indent=2))
        return
    _print(decision)
    layout = RunLayout.of(cfg)
    console.print(f"decision: {layout.decision}; report: {layout.report}")


def _print(decision: dict[str, Any]) -> None:
    baselines = decision["baselines"]
    shown = [c for c in _COLUMNS if any(m.get(c[0]) is not None for m in baselines.values())]
    questions = decision["questions"]
    table = Table(title=f"Baselines with {decision['model']}, no training "
                        f"({questions['count']} {questions['split']} questions)")
    table.add_column("baseline")
    for _, header, _ in shown:
        table.add_column(header, justify="right")
    for name, metrics in baselines.items():
        table.add_row(name, *(_fmt(metrics.get(key), form) for key, _, form in shown))
    console.print(table)

    criteria = Table(title="The seed's criteria")
    for column in ("criterion", "value", "threshold", "verdict", "role", "condition"):
        criteria.add_column(column, justify="right" if column == "value" else "left")
    for c in decision["criteria"]:
        verdict = {True: "[green]holds[/green]", False: "[red]does not hold[/red]"}.get(
            c["passed"], "not measured")
        criteria.add_row(c["name"], _fmt(c["value"], "{:.4g}"), c["threshold"], verdict,
                         c["role"], c["condition"])
    console.print(criteria)

    cost = decision["cost"]
    training, one_off = cost["training"], cost["one_off_usd"]
    serving = cost["per_1k_answers_usd"]
    console.print(f"cost: training {training['gpu_hours']:.3g} GPU-hours on {training['gpu']} "
                  f"= ${training['usd']:.3g}; annotation ${cost['annotation']['usd_low']:,.0f}-"
                  f"{cost['annotation']['usd_high']:,.0f}; one-off ${one_off['low']:,.0f}-"
                  f"{one_off['high']:,.0f}")
    apis = ", ".join(f"{n} ${v:.3f}" for n, v in serving["apis"].items())
    console.print(f"per 1,000 answers: in-house ${serving['in_house']:.3f} "
                  f"({serving['in_house_hardware']}); APIs: {apis}")
    for name, even in cost["break_even_answers"].items():
        text = ("never: the API costs less per answer" if even["low"] is None else
                f"{even['low']:,.0f}-{even['high']:,.0f} answers")
        console.print(f"break-even against {name}: {text}")
    console.print(f"[bold]recommendation: {decision['recommendation']}[/bold]")
    for reason in decision["reasons"]:
        console.print(f"  - {reason}")


def _fmt(value: Any, form: str) -> str:
    return "—" if value is None else form.format(value)
