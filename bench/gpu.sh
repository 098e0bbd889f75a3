#!/usr/bin/env bash
# The GPU benchmark in one command: LoRA and QLoRA on SmolLM2-135M-Instruct and on random-weight
# Qwen2.5-0.5B/1.5B shapes, for TRL's defaults, hand-tuned TRL (with liger-kernel where it
# imports) and tunesmith; tokens/s, the allocator's peak, MFU and the planner's estimate.
# Finishes within 8 minutes on one H100/H200; writes bench/results/gpu.json and prints a table.
#   bash bench/gpu.sh [extra bench_gpu.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'bench/gpu.sh: no CUDA GPU here (torch ' + torch.__version__ + ')')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# bench_gpu.py rewrites the JSON after every configuration, so the limit keeps what was measured
timeout 480 "$PY" bench/bench_gpu.py --out bench/results/gpu.json "$@" \
  || echo "bench/gpu.sh: bench_gpu.py stopped (exit $?); the table shows the rows measured" >&2
"$PY" - <<'PY'
import json
r = json.load(open("bench/results/gpu.json"))
print(f"{r['gpu']}, {r['date']}, batch {r['batch']} x {r['seq']}, {r['steps']} timed steps")
print("| model | method | trainer | tokens/s | peak GiB | planner GiB | MFU |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
for x in r["rows"]:
    if "error" in x:
        print(f"| {x['model']} | {x['method']} | {x['trainer']} | error: {x['error'][:60]} | | | |")
        continue
    mfu = f"{x['mfu']:.3f}" if x.get("mfu") else ""
    print(f"| {x['model']} | {x['method']} | {x['trainer']} | {x['tokens_per_s']:.0f} | "
          f"{x['peak_memory_gib']} | {x['planner_peak_gib']} | {mfu} |")
PY
