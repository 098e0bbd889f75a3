"""``tunesmith plan | estimate | lr-find | search``: hyperparameters, memory, time, cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
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
from tunesmith.plan.lr_finder import run_lr_find
from tunesmith.plan.planner import Plan, plan_for_config
from tunesmith.plan.report import EstimateRequest, print_estimate, run_estimate
from tunesmith.utils.layout import RunLayout


def _ensure_data(config: Any, as_json: bool) -> None:
    """The plan needs the training split: build it if it is missing or stale."""
    run_pipeline(config, until="data", console=err_console if as_json else console, report=False)


@app.command("plan")
def plan(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Hyperparameters from the data size and the hardware, each with the rule behind it
    (writes runs/<name>/plan/plan.json; `tunesmith train` fills 'auto' values from it)."""
    cfg = load_run_config(config, set_)

    def body() -> Plan:
        _ensure_data(cfg, as_json)
        return plan_for_config(cfg)

    result = guarded(body)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    hw = result.hardware
    table = Table(title=f"plan for '{cfg.name}': {result.n_train} training examples, "
                  f"{hw.label} ({round(hw.memory_gib, 2)} GiB)")
    for col in ("hyperparameter", "value", "source", "rule"):
        table.add_column(col, overflow="fold")
    for d in result.decisions:
        value = "off" if d.value is None else f"{d.value:.4g}" if isinstance(
            d.value, float) else str(d.value)
        if d.source != "plan" and d.suggested not in (None, d.value):
            value += f"  (rule: {d.suggested:.4g})" if isinstance(
                d.suggested, float) else f"  (rule: {d.suggested})"
        table.add_row(d.name, value, d.source, d.rule)
    console.print(table)
    console.print(f"estimated peak memory: {result.memory.peak:.3f} GiB "
                  f"(at the {result.memory.phase}); wrote {RunLayout.of(cfg).plan_json}")


# ------------------------------------------------------------------------------ estimate

ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Catalog name (llama-3-8b, mistral-7b, qwen2.5-7b, phi-3-mini, ...), a "
    "local folder or a cached Hub name. Default: the config's model.")]


@app.command("estimate")
def estimate(
    config: Annotated[Path | None, typer.Argument(help="tunesmith.yaml (optional).")] = None,
    model: ModelOpt = None,
    method: Annotated[str | None, typer.Option(help="full, freeze, lora, qlora, dora, ia3, "
                                               "prefix_tuning, ... Default: the config's.")] = None,
    precision: Annotated[str, typer.Option(help="bf16 | fp16 | fp32 | mixed")] = "bf16",
    seq_len: Annotated[int | None, typer.Option("--seq-len", help="Tokens per sequence.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Per-device batch.")
                          ] = None,
    gradient_checkpointing: Annotated[bool, typer.Option(
        "--gradient-checkpointing/--no-gradient-checkpointing", help="Activation checkpointing."
    )] = False,
    optimizer: Annotated[str, typer.Option(
        help="adamw | adamw_8bit | paged_adamw_8bit | sgd | adafactor")] = "adamw",
    optimizer_in_backward: Annotated[bool, typer.Option(
        "--optimizer-in-backward", help="Apply each gradient as it is computed (torchtune).")
    ] = False,
    lora_rank: Annotated[int | None, typer.Option("--lora-rank", help="LoRA rank.")] = None,
    lora_targets: Annotated[str | None, typer.Option(
        "--lora-targets", help="Comma-separated modules or all-linear (default q_proj,v_proj).")
    ] = None,
    loss: Annotated[str | None, typer.Option(
        help="chunked: a chunked/fused cross-entropy (torchtune, Liger; the default without a "
        "config); full: transformers' loss, the logits upcast to fp32 (tunesmith's trainer; "
        "the default with a config).")] = None,
    attention: Annotated[str, typer.Option(help="sdpa (flash) | eager")] = "sdpa",
    zero_stage: Annotated[int, typer.Option("--zero-stage", min=0, max=3)] = 0,
    offload_optimizer: Annotated[bool, typer.Option("--offload-optimizer")] = False,
    offload_params: Annotated[bool, typer.Option("--offload-params")] = False,
    gpus: Annotated[int, typer.Option(min=1, help="GPUs (data parallel / sharded).")] = 1,
    gpu: Annotated[str, typer.Option(help="GPU from the catalog for time, cost and fit.")
                   ] = "a100-80gb",
    hardware: Annotated[str | None, typer.Option(
        help="Answer 'the largest model this card trains' with full, LoRA and QLoRA "
        "(e.g. rtx4090).")] = None,
    tokens: Annotated[float | None, typer.Option(
        help="Training tokens for time and cost (default: samples x seq-len).")] = None,
    samples: Annotated[float, typer.Option(help="Training samples (x epochs).")] = 1e6,
    dataset_gib: Annotated[float, typer.Option("--dataset-gib", help="Dataset size on disk.")
                           ] = 1.0,
    checkpoints: Annotated[int, typer.Option(help="Checkpoints kept (seed: 10).")] = 10,
    utilisation: Annotated[float, typer.Option(help="Share of peak FLOPs (seed: 0.4).")] = 0.4,
    gpu_catalog: Annotated[Path | None, typer.Option("--gpu-catalog", help="GPU catalog YAML "
                                                     "with your prices.")] = None,
    write_configs: Annotated[Path | None, typer.Option(
        "--write-configs", help="Write accelerate/DeepSpeed files for the recommended "
        "multi-GPU strategy into this folder.")] = None,
    measure: Annotated[bool, typer.Option(
        "--measure", help="Also run a few real training steps of the configuration (random "
        "weights of the same shape) and print predicted against measured.")] = False,
    steps: Annotated[int, typer.Option(help="Measured steps (with --measure).")] = 3,
    cpu_time: Annotated[bool, typer.Option(
        "--cpu-time", help="Also predict the step and training time on this machine's CPU "
        "(fp32) by timing the configuration's blocks here (cached; models under 2B).")] = False,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Memory (broken down), time from FLOPs, storage and cloud cost for a model x method x
    precision x batch x sequence x checkpointing x ZeRO x GPUs; what fits; the seed's formula
    beside tunesmith's. `--hardware rtx4090`: the largest model each method trains on it."""
    cfg = load_run_config(config, set_) if config else None
    request = EstimateRequest(
        model=model, method=method, precision=precision, seq_len=seq_len,
        batch_size=batch_size, gradient_checkpointing=gradient_checkpointing,
        optimizer=optimizer, optimizer_in_backward=optimizer_in_backward, lora_rank=lora_rank,
        lora_targets=lora_targets, loss=loss, attention=attention, zero_stage=zero_stage,
        offload_optimizer=offload_optimizer, offload_params=offload_params, gpus=gpus, gpu=gpu,
        hardware=hardware, tokens=tokens, samples=samples, dataset_gib=dataset_gib,
        checkpoints=checkpoints, utilisation=utilisation, gpu_catalog=gpu_catalog,
        write_configs=write_configs, measure=measure, steps=steps, cpu_time=cpu_time)
    result = guarded(lambda: run_estimate(request, cfg, err_console if as_json else console))
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_estimate(result, console)


# ------------------------------------------------------------------------------ lr-find, search


def _base_model(cfg: Any, as_json: bool) -> str:
    """Build the data and the base model if they are not up to date; the base model's path."""
    run_pipeline(cfg, until="model", console=err_console if as_json else console, report=False)
    return RunLayout.of(cfg).base_model()


@app.command("lr-find")
def lr_find(config: ConfigArg, set_: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Learning-rate range test (Smith 2017): raise the rate exponentially from plan.lr_find.
    start_lr until the loss diverges; suggest half the divergence point (the seed's rule) and
    show the steepest-descent point. Writes plan/lr_find.{json,png}; the plan then uses it."""
    cfg = load_run_config(config, set_)
    out = err_console if as_json else console
    result = guarded(lambda: run_lr_find(cfg, _base_model(cfg, as_json), out))
    payload = {k: v for k, v in result.to_dict().items()
               if k not in ("lrs", "losses", "smoothed")}
    payload["plot"] = str(RunLayout.of(cfg).lr_find_png)
    payload["steps_run"] = len(result.lrs)
    if as_json:
        print(json.dumps(payload, indent=2))
        return

    def fmt(v: float | None) -> str:
        return f"{v:.3g}" if v else "-"

    console.print(f"swept {len(result.lrs)} steps from {result.lrs[0]:.1e} to "
                  f"{result.lrs[-1]:.2e}")
    console.print(f"  divergence point:  {fmt(result.divergence_lr)}")
    console.print(f"  steepest descent:  {fmt(result.steepest_lr)}")
    console.print(f"  [bold]suggested:         {fmt(result.suggested_lr)}[/bold]  "
                  f"({result.rule})")
    console.print(f"plot: {payload['plot']}; `tunesmith plan` now uses the suggestion for a "
                  "learning_rate left at 'auto'")


@app.command("search")
def search(
    config: ConfigArg,
    trials: Annotated[int | None, typer.Option(help="Trials in total (default: "
                                               "plan.search.trials).")] = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Optuna TPE search over plan.search.space with pruning on each epoch's validation loss.
    Stored in runs/<name>/plan/search.db: killed and restarted, it resumes where it stopped.
    Writes the best configuration as YAML (plan/best.yaml) and parameter importances."""
    from tunesmith.plan.search import run_search  # deferred: imports optuna

    cfg = load_run_config(config, set_)
    out = err_console if as_json else console
    result = guarded(lambda: run_search(cfg, config, _base_model(cfg, as_json),
                                        trials or cfg.plan.search.trials, out, set_ or []))
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    table = Table(title=f"search: {result['finished']} trials finished "
                  f"({result['pruned']} pruned, {result['resumed_from']} before this run)")
    params = sorted({k for t in result["trials"] for k in t["params"]})
    for col in ("#", "state", "val loss", *params):
        table.add_column(col)
    for t in result["trials"]:
        value = f"{t['value']:.4f}" if t["value"] is not None else "-"
        table.add_row(str(t["number"]), t["state"], value,
                      *(f"{t['params'].get(p, '-'):.3g}" if isinstance(t["params"].get(p), float)
                        else str(t["params"].get(p, "-")) for p in params))
    console.print(table)
    if result.get("best"):
        console.print(f"best: {result['best']['params']} (val loss "
                      f"{result['best']['value']:.4f}); wrote {result['best_yaml']}")
    if result.get("importances"):
        console.print("parameter importances (fANOVA): " + ", ".join(
            f"{k} {v:.2f}" for k, v in result["importances"].items()))
