"""``tunesmith estimate``: put memory, time, storage, cost, fit advice and the seed's numbers
into one JSON-ready result, and print it as tables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tunesmith.config import RunConfig
from tunesmith.config.auto import or_default
from tunesmith.errors import TunesmithError
from tunesmith.plan.advise import largest_models, multi_gpu_strategies, smallest_fitting
from tunesmith.plan.catalog import get_gpu, resolve_model
from tunesmith.plan.compute import estimate_time
from tunesmith.plan.cost import (
    SEED_CHECKPOINTS,
    cost_usd,
    estimate_storage,
    seed_hours,
    seed_table_comparison,
    seed_vram_gb,
)
from tunesmith.plan.emit import write_launch_files
from tunesmith.plan.hparams import Hardware
from tunesmith.plan.measure import MeasureSpec, compare
from tunesmith.plan.memory import TrainSetup, estimate_memory
from tunesmith.plan.planner import setup_for, shape_for


@dataclass
class EstimateRequest:
    model: str | None = None
    method: str | None = None
    precision: str = "bf16"
    seq_len: int | None = None
    batch_size: int | None = None
    gradient_checkpointing: bool = False
    optimizer: str = "adamw"
    optimizer_in_backward: bool = False
    lora_rank: int | None = None
    lora_targets: str | None = None
    loss: str | None = None
    attention: str = "sdpa"
    zero_stage: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    gpus: int = 1
    gpu: str = "a100-80gb"
    hardware: str | None = None
    tokens: float | None = None
    samples: float = 1e6
    dataset_gib: float = 1.0
    checkpoints: int = SEED_CHECKPOINTS
    utilisation: float = 0.4
    gpu_catalog: Path | None = None
    write_configs: Path | None = None
    measure: bool = False
    steps: int = 3
    cpu_time: bool = False


def _setup(req: EstimateRequest, config: RunConfig | None) -> tuple[Any, TrainSetup]:
    """The shape and setup: the config's where it has them, the flags' where given."""
    base = TrainSetup(loss="chunked")
    shape = None
    if config is not None:
        hw = Hardware("cuda", 80.0, req.precision != "fp16")
        base = replace(setup_for(config, hw), precision=req.precision)
        if req.model is None:
            shape = shape_for(config)
    if shape is None:
        if req.model is None:
            raise TunesmithError("give --model NAME (or a tunesmith.yaml whose model to size)")
        shape = resolve_model(req.model)
    targets = base.lora_targets
    if req.lora_targets:
        targets = tuple(t.strip() for t in req.lora_targets.split(",") if t.strip())
    setup = replace(  # TrainSetup checks each value
        base, method=req.method or base.method, precision=req.precision,
        seq_len=req.seq_len or base.seq_len, batch_size=req.batch_size or base.batch_size,
        gradient_checkpointing=req.gradient_checkpointing or base.gradient_checkpointing,
        optimizer=req.optimizer if req.optimizer != "adamw" else base.optimizer,
        optimizer_in_backward=req.optimizer_in_backward, lora_rank=req.lora_rank or base.lora_rank,
        lora_targets=targets, loss=req.loss or base.loss, attention=req.attention,
        zero_stage=req.zero_stage,
        offload_optimizer=req.offload_optimizer or base.offload_optimizer,
        offload_params=req.offload_params, gpus=req.gpus, device="cuda")
    return shape, setup


def run_estimate(req: EstimateRequest, config: RunConfig | None,
                 console: Console) -> dict[str, Any]:
    gpu = get_gpu(req.gpu, req.gpu_catalog)
    if req.hardware:
        card = get_gpu(req.hardware, req.gpu_catalog)
        answer = largest_models(card)
        result: dict[str, Any] = {"hardware": card.label, "memory_gib": card.memory_gib,
                                  "largest_models": answer,
                                  "assumptions": "bf16, batch 1 x 2048 tokens, activation "
                                  "checkpointing, chunked cross-entropy; full fine-tuning "
                                  "with paged 8-bit AdamW applied in backward",
                                  "seed_claim": "seed: RTX 4090 (24GB): max model 13B with "
                                  "QLoRA + FlashAttention"}
        if req.model is None and config is None:
            return result
    else:
        result = {}
    shape, setup = _setup(req, config)
    mem = estimate_memory(shape, setup)
    tokens = req.tokens if req.tokens is not None else req.samples * setup.seq_len
    t = estimate_time(shape, setup, tokens, gpu.peak_tflops(setup.precision), req.utilisation)
    storage = estimate_storage(shape, setup, mem.trainable_params, req.checkpoints,
                               req.dataset_gib)
    fit, tried = smallest_fitting(shape, setup, gpu)
    gpus_for_strategy = max(req.gpus, 2)
    best, strategies = multi_gpu_strategies(shape, setup, gpu, gpus_for_strategy)
    result.update({
        "model": shape.to_dict(),
        "setup": {k: getattr(setup, k) for k in setup.__dataclass_fields__},
        **mem.to_dict(),
        "time": t.to_dict(),
        "cost_usd": round(cost_usd(t.hours, setup.gpus, gpu), 2),
        "gpu": {"key": gpu.key, "label": gpu.label, "memory_gib": gpu.memory_gib,
                "usd_per_hour": gpu.usd_per_hour},
        "fits_on_gpu": mem.peak <= 0.95 * gpu.memory_gib,
        "storage": storage.to_dict(),
        "smallest_fitting": fit.to_dict() if fit else None,
        "tried": [o.to_dict() for o in tried],
        "multi_gpu": {"gpus": gpus_for_strategy, "recommended": best,
                      "strategies": strategies},
        "seed": {
            "vram_formula_gb": round(seed_vram_gb(shape.params), 1),
            "vram_formula": "(P x 20 bytes) x 1.5 safety, for every method",
            "hours_formula": round(seed_hours(shape.params, req.samples, setup.seq_len,
                                              gpu.tflops_bf16, req.utilisation), 1),
            "hours_formula_text": "(6P x S x L) / (GPU flops x util), S = samples",
            "table": seed_table_comparison(gpu),
        },
    })
    if req.write_configs is not None and best is not None:
        label = best
        chosen = next(s for s in strategies if s["strategy"] == best)
        stage = {"DDP": 0, "ZeRO-2": 2, "ZeRO-3": 3, "FSDP": 3, "ZeRO-3 + offload": 3}[label]
        offload = label.endswith("offload")
        emitted = replace(setup, gpus=gpus_for_strategy, zero_stage=stage,
                          offload_optimizer=offload, offload_params=offload)
        files = write_launch_files(req.write_configs, label, emitted)
        result["launch_files"] = [str(f) for f in files]
        _ = chosen
    if req.cpu_time:
        # on a CPU checkpointing only costs time: on where asked for, not from a GPU default
        checkpointing = req.gradient_checkpointing or (
            config is not None and config.train.gradient_checkpointing is True)
        result["cpu_time"] = cpu_time_estimate(
            shape, replace(setup, gradient_checkpointing=checkpointing), tokens, console)
    if req.measure:
        result["measured"] = _measure(req, config, console)
    return result


def cpu_time_estimate(shape: Any, setup: TrainSetup, tokens: float,
                      console: Console) -> dict[str, Any]:
    """Step time and training time on one core of this machine's CPU (fp32): the kernel-level
    model of tunesmith.plan.cpu_time, its blocks timed here at the configuration's shapes
    (cached). One torch thread and the process's CPU time, so other work on the machine does
    not count; more threads speed up mainly the matrix products."""
    import torch

    # deferred: importing it loads torch
    from tunesmith.plan.cpu_time import BlockTimer, cache_path, host_key, predict_step

    if shape.params > 2e9:
        raise TunesmithError(f"--cpu-time times the configuration's blocks on this CPU; "
                             f"{shape.name} is too large for that (pick a model under 2B "
                             "parameters)")
    cpu = replace(setup, precision="fp32", device="cpu", gpus=1)
    console.print(f"timing the blocks of one {cpu.method} step ({cpu.batch_size} x "
                  f"{cpu.seq_len} tokens) on this CPU (cached in {cache_path()}) ...")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step = predict_step(shape, cpu, BlockTimer(clock="cpu", cache=cache_path()))
        host = host_key()
    finally:
        torch.set_num_threads(threads)
    steps = tokens / (cpu.batch_size * cpu.seq_len)
    return {**step.to_dict(), "host": host, "steps": steps, "threads": 1,
            "gradient_checkpointing": cpu.gradient_checkpointing,
            "hours": step.seconds * steps / 3600.0,
            "tokens_per_second": cpu.batch_size * cpu.seq_len / step.seconds}


def _measure(req: EstimateRequest, config: RunConfig | None, console: Console) -> dict[str, Any]:
    """A few real steps of the configuration on this machine, beside the prediction."""
    if config is None:
        raise TunesmithError("--measure needs a tunesmith.yaml (the configuration to run)")
    shape = shape_for(config) if req.model is None else resolve_model(req.model)
    if shape.params > 2e9:
        raise TunesmithError(f"--measure runs real steps; {shape.name} is too large for that "
                             "here (pick a model under 2B parameters)")
    options = config.method.options.model_dump(mode="json")
    if req.method and req.method != config.method.name:
        options = {}
    spec = MeasureSpec(
        shape=shape.to_dict(), method=req.method or config.method.name, options=options,
        batch_size=req.batch_size or or_default(config.train, "batch_size"),  # before the plan
        seq_len=req.seq_len or config.train.max_length,
        gradient_checkpointing=req.gradient_checkpointing, steps=req.steps, seed=config.seed,
        # on a CPU: one core and the process's CPU time, as the block model times it (the
        # machine's other work then barely counts)
        threads=None if _cuda() else 1)
    console.print(f"measuring {req.steps} training steps of {spec.method} on {shape.name} "
                  f"(batch {spec.batch_size} x {spec.seq_len} tokens) in a fresh process ...")
    gpu = get_gpu(req.gpu, req.gpu_catalog)
    return compare(spec, shape, gpu.peak_tflops("bf16"), req.utilisation)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def print_estimate(result: dict[str, Any], console: Console) -> None:
    if "largest_models" in result:
        table = Table(title=f"largest model that trains on one {result['hardware']} "
                      f"({result['memory_gib']} GiB)")
        for col in ("method", "largest model", "params (B)", "peak GiB"):
            table.add_column(col)
        for method, row in result["largest_models"].items():
            table.add_row(method, str(row["largest"]), str(row["params_b"]), str(row["peak_gib"]))
        console.print(table)
        console.print(f"assumptions: {result['assumptions']}\n{result['seed_claim']}")
        if "peak_memory_gib" not in result:
            return
    s = result["setup"]
    title = (f"{result['model']['name']} ({result['total_params'] / 1e9:.2f}B) · {s['method']} · "
             f"{s['precision']} · batch {s['batch_size']} x {s['seq_len']} · checkpointing "
             f"{'on' if s['gradient_checkpointing'] else 'off'} · {s['gpus']} GPU(s)")
    table = Table(title=title)
    table.add_column("memory at the peak (" + result["peak_phase"] + ")")
    table.add_column("GiB", justify="right")
    for key, value in result["breakdown_gib"].items():
        table.add_row(key.replace("_", " "), f"{value:.3f}")
    table.add_row("[bold]peak per GPU[/bold]", f"[bold]{result['peak_memory_gib']:.2f}[/bold]")
    table.add_row("seed formula (P x 20 x 1.5)", f"{result['seed']['vram_formula_gb']:.1f} GB")
    console.print(table)
    for note in result["notes"]:
        console.print(f"  · {note}")
    t = result["time"]
    console.print(f"time: {t['tokens']:.3g} tokens at {t['tokens_per_second']:.0f} tokens/s "
                  f"({t['utilisation']:.0%} of {t['peak_tflops_per_device']} TFLOPS x "
                  f"{t['devices']}) = {t['hours']:.1f} h on {result['gpu']['label']}; cost "
                  f"${result['cost_usd']:,.0f} at ${result['gpu']['usd_per_hour']}/h "
                  f"(seed formula: {result['seed']['hours_formula']} h)")
    st = result["storage"]
    console.print(f"storage: {st['checkpoints']} checkpoints x {st['checkpoint_gib']:.2f} GiB + "
                  f"final {st['final_model_gib']:.2f} GiB + data working set "
                  f"{st['data_working_set_gib']:.1f} GiB = {st['total_gib']:.1f} GiB")
    fit = result["smallest_fitting"]
    console.print("smallest configuration that fits on "
                  f"{result['gpu']['label']}: " + (
                      f"{', '.join(fit['changes']) or 'as given'} ({fit['peak_gib']} GiB/GPU)"
                      if fit else "none found"))
    mg = result["multi_gpu"]
    table = Table(title=f"multi-GPU strategies on {mg['gpus']} x {result['gpu']['label']}")
    for col in ("strategy", "GiB per GPU", "fits", "note"):
        table.add_column(col)
    for row in mg["strategies"]:
        table.add_row(row["strategy"], f"{row['per_gpu_peak_gib']:.1f}",
                      "yes" if row["fits"] else "no", row["note"])
    console.print(table)
    if mg["recommended"]:
        console.print(f"recommended: {mg['recommended']}"
                      + (f"; wrote {', '.join(result['launch_files'])}"
                         if result.get("launch_files") else
                         " (--write-configs DIR writes its accelerate/DeepSpeed files)"))
    table = Table(title="the seed's table beside tunesmith's (full fine-tuning, 1M samples x "
                  "2048 tokens, A100 80GB)")
    for col in ("model", "seed min VRAM", "tunesmith total", "seed GPUs", "tunesmith GPUs",
                "seed h", "tunesmith h", "seed $", "tunesmith $"):
        table.add_column(col, justify="right")
    for row in result["seed"]["table"]:
        table.add_row(row["model"], f"{row['seed_min_vram_gb']} GB",
                      f"{row['tunesmith_total_gib']} GiB", str(row["seed_gpus"]),
                      str(row["tunesmith_gpus"]), str(row["seed_hours"]),
                      str(row["tunesmith_hours"]), f"{row['seed_cost_usd']:,}",
                      f"{row['tunesmith_cost_usd']:,}")
    console.print(table)
    if "cpu_time" in result:
        c = result["cpu_time"]
        console.print(f"on one core of this CPU ({c['host']}, fp32, checkpointing "
                      f"{'on' if c['gradient_checkpointing'] else 'off'}): "
                      f"{c['seconds']:.3f} s per step "
                      f"({c['tokens_per_second']:.0f} tokens/s), {c['hours']:.2f} h for "
                      f"{c['steps']:.3g} steps; by block: " + ", ".join(
                          f"{k} {v:.3f} s" for k, v in c["parts"].items()))
    if "measured" in result:
        m = result["measured"]
        table = Table(title=f"predicted vs measured ({m['device']})")
        for col in ("", "predicted", "measured", "error"):
            table.add_column(col, justify="right")
        table.add_row("peak memory (MiB)", f"{m['predicted_peak_gib'] * 1024:.1f}",
                      f"{m['measured_peak_gib'] * 1024:.1f}", f"{m['peak_error']:+.1%}")
        clock = m.get("step_clock", "wall")
        model = "blocks timed" if m.get("step_parts") else "FLOPs"
        table.add_row(f"step time (s, {clock} clock, {model})", f"{m['predicted_step_s']:.3f}",
                      f"{m['measured_step_s']:.3f}", f"{m['step_error']:+.1%}")
        if m.get("step_parts"):
            table.add_row("step time (s), FLOPs / matmul rate",
                          f"{m['flops_predicted_step_s']:.3f}", f"{m['measured_step_s']:.3f}",
                          f"{m['flops_step_error']:+.1%}")
        console.print(table)
        console.print(f"memory measured as: {m['memory_method']}")
