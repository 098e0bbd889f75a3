"""Predicted against measured peak memory and step time, over methods x sequence lengths x
activation checkpointing on small LLaMA models (random weights: memory and speed do not depend
on their values).

Each configuration trains a few steps in a fresh process (tunesmith.plan.measure: on CPU the
resident-set high-water mark after the first step, minus the resident set before the model
existed; on CUDA the allocator's peak). Step time on CPU: tunesmith's kernel-level model
(tunesmith.plan.cpu_time: the configuration's blocks timed at their shapes, summed) against the
measured steps, beside the old baseline (FLOPs over a 1024x1024 matrix-multiply rate), all timed
in the same process on the same clock (process CPU time with one torch thread per job, so
other work on a shared machine does not count).

    nice -n 10 .venv/bin/python bench/bench_estimate.py            # all configurations
    .venv/bin/python bench/bench_estimate.py --quick               # 4 of them

Writes bench/results/estimate.json and prints the Markdown table recorded in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import transformers

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.measure import MeasureSpec, compare

SMALL = ModelShape(name="llama-h256-l4-v8k", hidden=256, layers=4, heads=4, kv_heads=4,
                   intermediate=704, vocab=8000)
GQA = ModelShape(name="llama-h384-l6-gqa-v16k", hidden=384, layers=6, heads=6, kv_heads=2,
                 intermediate=1024, vocab=16000)

CONFIGS: list[tuple[ModelShape, str, dict[str, object], int, int, bool]] = [
    # (shape, method, options, batch, seq, checkpointing)
    (SMALL, "full", {}, 2, 128, False),
    (SMALL, "full", {}, 2, 256, False),
    (SMALL, "full", {}, 2, 256, True),
    (SMALL, "lora", {}, 2, 128, False),
    (SMALL, "lora", {}, 2, 256, False),
    (SMALL, "lora", {}, 2, 256, True),
    (SMALL, "lora", {"target_modules": "all-linear", "dropout": 0.0}, 2, 256, False),
    (SMALL, "lora", {"target_modules": "all-linear", "dropout": 0.0}, 2, 256, True),
    (GQA, "full", {}, 1, 256, False),
    (GQA, "lora", {"r": 16}, 1, 256, False),
    (GQA, "lora", {"r": 16}, 2, 256, True),
    (GQA, "freeze", {"layers": 2}, 1, 256, False),
    (SMALL, "ia3", {}, 2, 256, False),
    (SMALL, "prompt_tuning", {}, 2, 256, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 configurations only")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1,
                        help="configurations measured at once (1 torch thread each when > 1); "
                        "memory is per process, but step times then share the CPU")
    parser.add_argument("--out", type=Path, default=Path("bench/results/estimate.json"))
    args = parser.parse_args()
    configs = CONFIGS[:: max(1, len(CONFIGS) // 4)][:4] if args.quick else CONFIGS
    from concurrent.futures import ThreadPoolExecutor

    def run(item: tuple[ModelShape, str, dict[str, object], int, int, bool]) -> dict[str, object]:
        shape, method, options, batch, seq, ckpt = item
        spec = MeasureSpec(shape=shape.to_dict(), method=method, options=dict(options),
                           batch_size=batch, seq_len=seq, gradient_checkpointing=ckpt,
                           steps=args.steps, threads=1 if args.jobs > 1 else None)
        start = time.perf_counter()
        try:
            row = compare(spec, shape)
        except Exception as exc:  # one failed configuration must not lose the others
            print(f"{shape.name} {method} {options}: FAILED {exc}", file=sys.stderr, flush=True)
            return {"model": shape.name, "method": method, "options": options, "error": str(exc)}
        row.update({"model": shape.name, "options": options,
                    "wall_s": round(time.perf_counter() - start, 1)})
        print(f"{shape.name} {method} {options} b{batch} s{seq} ckpt={ckpt}: peak predicted "
              f"{row['predicted_peak_gib'] * 1024:.1f} MiB, measured "
              f"{row['measured_peak_gib'] * 1024:.1f} MiB ({row['peak_error']:+.1%}); step "
              f"{row['predicted_step_s']:.2f} s vs {row['measured_step_s']:.2f} s "
              f"({row['step_error']:+.1%})", file=sys.stderr, flush=True)
        return row

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, configs))
    failed = [r for r in results if "error" in r]
    rows: list[dict[str, Any]] = [r for r in results if "error" not in r]
    summary = {
        "median_abs_peak_error": statistics.median(abs(r["peak_error"]) for r in rows),
        "max_abs_peak_error": max(abs(r["peak_error"]) for r in rows),
        "median_abs_step_error": statistics.median(abs(r["step_error"]) for r in rows),
        "median_abs_flops_step_error": statistics.median(abs(r["flops_step_error"])
                                                         for r in rows),
        "step_clock": rows[0].get("step_clock", "wall") if rows else "",
        "configurations": len(rows),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "threads": 1 if args.jobs > 1 else torch.get_num_threads(), "jobs": args.jobs,
        "torch": torch.__version__,
        "transformers": transformers.__version__, "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "device": rows[0]["device"] if rows else "",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows, "failed": failed},
                                   indent=2, default=str))
    print(markdown(rows, summary))


def markdown(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = ["| model | method | options | batch x seq | ckpt | predicted MiB | measured MiB "
             "| error | predicted step s | measured step s | error | FLOPs-rate step s | error |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        opts = ", ".join(f"{k}={v}" for k, v in dict(r["options"]).items()) or "defaults"
        lines.append(
            f"| {r['model']} | {r['method']} | {opts} | {r['batch_size']} x {r['seq_len']} | "
            f"{'on' if r['gradient_checkpointing'] else 'off'} | "
            f"{float(r['predicted_peak_gib']) * 1024:.1f} | "
            f"{float(r['measured_peak_gib']) * 1024:.1f} | "
            f"{float(r['peak_error']):+.1%} | {float(r['predicted_step_s']):.2f} | "
            f"{float(r['measured_step_s']):.2f} | {float(r['step_error']):+.1%} | "
            f"{float(r['flops_predicted_step_s']):.2f} | "
            f"{float(r['flops_step_error']):+.1%} |")
    lines.append("")
    lines.append(f"Median absolute error of peak memory: "
                 f"{float(summary['median_abs_peak_error']):.1%} (max "
                 f"{float(summary['max_abs_peak_error']):.1%}); of step time: "
                 f"{float(summary['median_abs_step_error']):.1%} (kernel-level model; FLOPs "
                 f"over the matrix-multiply rate: "
                 f"{float(summary['median_abs_flops_step_error']):.1%}), over "
                 f"{summary['configurations']} configurations; step clock: "
                 f"{summary['step_clock']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
