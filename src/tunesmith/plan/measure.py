"""Predicted against measured: a few real training steps of a configuration.

Each measurement runs in a fresh Python process, so one configuration's memory cannot leak into
the next. How memory is measured:

* CUDA: ``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats()``: the
  allocator's peak, which is what the estimate predicts (no CUDA context).
* CPU: the kernel's resident-set high-water mark. The process imports everything, records its
  resident set, builds and prepares the model, runs one step (so the optimizer states exist),
  resets the high-water mark (``/proc/self/clear_refs``, Linux), runs the measured steps and
  reads ``VmHWM`` from ``/proc/self/status``. Measured = high-water mark - the resident set
  before the model existed. glibc's adaptive mmap threshold is pinned at 64 KiB
  (``MALLOC_MMAP_THRESHOLD_``) so freed tensors go back to the kernel instead of staying in
  the heap.

On a CPU, time is measured in a second fresh process with glibc's default allocator settings
(the pinned mmap threshold makes every large allocation a fresh mapping and slowed the quickstart
step about 2x): the mean of the measured steps, and the kernel-level prediction
(tunesmith.plan.cpu_time) timed in that process afterwards, both on the process's CPU time with
one torch thread, else the wall clock. On CUDA one process does both; the step-time prediction
is the step's FLOPs over the GPU's catalog peak times the utilisation. The FLOPs over a
1024x1024 matrix-multiply rate measured in the process is reported beside it on CPU.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.compute import step_seconds
from tunesmith.plan.memory import GiB, TrainSetup, estimate_memory


class MeasureError(TunesmithError):
    pass


@dataclass
class MeasureSpec:
    shape: dict[str, Any]
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 2
    seq_len: int = 128
    gradient_checkpointing: bool = False
    steps: int = 3
    seed: int = 0
    threads: int | None = None  # torch threads in the child (None: torch's default)
    phase: str = "both"  # "memory" | "time" | "both" (what the child measures)


def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise MeasureError(f"/proc/self/status has no {key}")


def _gemm_flops(seconds: float = 1.0) -> float:
    """Sustained fp32 matrix-multiply rate of this process (FLOP/s), on the clock the step
    times use (tunesmith.plan.cpu_time.default_clock)."""
    import torch

    from tunesmith.plan.cpu_time import clock_now, default_clock  # deferred: imports torch

    clock = default_clock()
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    n, start = 0, clock_now(clock)
    while clock_now(clock) - start < seconds:
        a @ b
        n += 1
    return 2 * 1024**3 * n / (clock_now(clock) - start)


def _worker(spec: MeasureSpec) -> dict[str, Any]:
    """Runs inside the child process."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    # deferred: importing these loads torch
    from tunesmith.methods import METHODS
    from tunesmith.plan.steps import Stepper, enable_checkpointing, prepare_model

    torch.manual_seed(spec.seed)
    if spec.threads:
        torch.set_num_threads(spec.threads)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    s = spec.shape
    options = METHODS.get(spec.method).Options.model_validate(spec.options)

    def build(shape: dict[str, Any], batch_size: int, seq_len: int) -> tuple[Any, Any]:
        config = LlamaConfig(
            hidden_size=shape["hidden"], num_hidden_layers=shape["layers"],
            num_attention_heads=shape["heads"], num_key_value_heads=shape["kv_heads"],
            intermediate_size=shape["intermediate"], vocab_size=shape["vocab"],
            tie_word_embeddings=shape["tied"], max_position_embeddings=max(2048, seq_len))
        config._attn_implementation = "sdpa"  # what from_pretrained picks on torch >= 2.1
        base: Any = LlamaForCausalLM(config)
        model, method = prepare_model(base.to(device), spec.method,
                                      options, total_steps=spec.steps + 1)
        if spec.gradient_checkpointing:
            enable_checkpointing(model)
        stepper = Stepper(model, method, learning_rate=1e-4)
        ids = torch.randint(0, shape["vocab"], (batch_size, seq_len), device=device)
        return stepper, {"input_ids": ids, "labels": ids}

    # the same code path once on a miniature model first: libraries import and initialise
    # lazily (PEFT, thread pools, the autograd engine); none of that may count as the model's
    mini = {**s, "hidden": s["heads"] * 4, "intermediate": 16, "layers": min(s["layers"], 2),
            "vocab": 64}
    warm, warm_batch = build(mini, 1, 8)
    warm.step(warm_batch)
    warm.step(warm_batch)
    del warm, warm_batch
    gc.collect()
    gemm = _gemm_flops() if not cuda else 0.0
    watch_memory = spec.phase in ("memory", "both")
    base_rss = _status_kib("VmRSS") * 1024 if not cuda and watch_memory else 0
    stepper, batch = build(s, spec.batch_size, spec.seq_len)
    stepper.step(batch)  # the optimizer creates its states here
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    elif watch_memory:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")  # reset the resident-set high-water mark
    times, cpu_times = [], []
    for _ in range(spec.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        stepper.step(batch)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
        how = "torch.cuda.max_memory_allocated (allocator peak)"
    elif watch_memory:
        peak = _status_kib("VmHWM") * 1024 - base_rss
        how = ("process resident-set high-water mark (VmHWM, reset after the first step) "
               "minus the resident set before the model was built")
    else:
        peak, how = 0, "not measured in this process (phase 'time')"
    blocks = None
    # the kernel-level prediction, timed in this process under the same conditions
    if not cuda and spec.phase in ("time", "both"):
        from tunesmith.plan.cpu_time import BlockTimer, predict_step  # deferred: imports torch

        del stepper, batch
        gc.collect()
        blocks = predict_step(ModelShape(**{k: v for k, v in s.items() if k != "params"}),
                              setup_for_spec(spec, device), BlockTimer()).to_dict()
    return {"peak_bytes": peak, "step_seconds": sum(times) / len(times), "times": times,
            "step_cpu_seconds": sum(cpu_times) / len(cpu_times), "cpu_times": cpu_times,
            "device": device, "memory_method": how, "gemm_flops": gemm,
            "threads": torch.get_num_threads(), "blocks": blocks}


def measure(spec: MeasureSpec, timeout: float = 1800) -> dict[str, Any]:
    """Run the steps in fresh processes (CPU: memory in one, time in another); return what
    they measured."""
    import torch

    if torch.cuda.is_available():
        return _child(replace(spec, phase="both"), timeout, pin_mmap=False)
    memory = _child(replace(spec, phase="memory"), timeout, pin_mmap=True)
    timing = _child(replace(spec, phase="time"), timeout, pin_mmap=False)
    return {**timing, "peak_bytes": memory["peak_bytes"],
            "memory_method": memory["memory_method"]}


def _child(spec: MeasureSpec, timeout: float, pin_mmap: bool) -> dict[str, Any]:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if pin_mmap:
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    proc = subprocess.run(
        [sys.executable, "-m", "tunesmith.plan.measure", json.dumps(asdict(spec))],
        capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise MeasureError(f"measurement of {spec.method} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def setup_for_spec(spec: MeasureSpec, device: str) -> TrainSetup:
    """The estimator's view of the same configuration."""
    o = spec.options
    targets = o.get("target_modules", ["q_proj", "v_proj"])
    return TrainSetup(
        method=spec.method, precision="fp32" if device == "cpu" else "bf16",
        batch_size=spec.batch_size, seq_len=spec.seq_len,
        gradient_checkpointing=spec.gradient_checkpointing,
        lora_rank=int(o.get("r", 8)),
        lora_targets=(targets,) if isinstance(targets, str) else tuple(targets),
        lora_dropout=float(o.get("dropout", 0.05)), trainable_layers=int(o.get("layers", 2)),
        virtual_tokens=int(o.get("num_virtual_tokens", 20)), device=device)  # type: ignore[arg-type]


def compare(spec: MeasureSpec, shape: ModelShape, peak_tflops: float | None = None,
            utilisation: float = 0.4) -> dict[str, Any]:
    """Measure, then predict the same configuration; both side by side with the errors."""
    measured = measure(spec)
    setup = setup_for_spec(spec, measured["device"])
    predicted = estimate_memory(shape, setup)
    blocks = measured.get("blocks")
    if measured["device"] == "cpu":
        rate = measured["gemm_flops"]
    else:
        rate = (peak_tflops or 0.0) * 1e12 * utilisation
    flops_step = step_seconds(shape, setup, rate) if rate else float("nan")
    meas_step = measured["step_seconds"]
    if blocks:  # CPU: the kernel-level model, both sides on the same clock
        pred_step = blocks["seconds"]
        if blocks["clock"] == "cpu":
            meas_step = measured["step_cpu_seconds"]
    else:
        pred_step = flops_step
    meas_gib = measured["peak_bytes"] / GiB
    return {
        "method": spec.method, "batch_size": spec.batch_size, "seq_len": spec.seq_len,
        "gradient_checkpointing": spec.gradient_checkpointing, "device": measured["device"],
        "predicted_peak_gib": predicted.peak, "measured_peak_gib": meas_gib,
        "peak_error": (predicted.peak - meas_gib) / meas_gib,
        "predicted_step_s": pred_step, "measured_step_s": meas_step,
        "step_error": (pred_step - meas_step) / meas_step,
        "step_clock": blocks["clock"] if blocks else "wall",
        "step_parts": blocks["parts"] if blocks else None,
        "flops_predicted_step_s": flops_step,
        "flops_step_error": (flops_step - meas_step) / meas_step,
        "measured_step_wall_s": measured["step_seconds"],
        "memory_method": measured["memory_method"], "breakdown_gib": predicted.breakdown(),
        "peak_phase": predicted.phase, "params": shape.params,
    }


if __name__ == "__main__":
    result = _worker(MeasureSpec(**json.loads(sys.argv[1])))
    print(json.dumps(result))
