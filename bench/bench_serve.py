"""Benchmark: the guarded answer's latency against plain generation, and a load test of
``tunesmith serve`` on loopback.

    python bench/bench_serve.py [CONFIG] [--repeats 30] [--requests 200] [--concurrency 20]
        [--skip-latency] [--skip-load] [--threads N] [--json OUT]

CONFIG (default: the quickstart, examples/quickstart/tunesmith.yaml) names a run that has
trained; its held-out questions (``eval.dataset``, else the validation split) are the load.

1. Latency, one question at a time (what a single user waits), each question asked through both
   paths in turn so both see the same machine: the guarded answer (``Guard.answer_many``: the
   generation with token scores and P(abstain), the similarity encoder, the gates; with
   ``guard.no_answer_threshold`` a below-threshold abstention is generated again) against plain
   greedy generation (``inference.generate_answers``, no scores) of the same model, prompt and
   ``eval.max_new_tokens``. Reported: p50, p95, mean of each, and guarded/plain. One warm-up
   question each first.
2. Load: the real server (uvicorn on 127.0.0.1, any free port) and the official ``openai``
   client, ``--requests`` requests with ``--concurrency`` in flight; errors, p50/p95/max
   latency, requests/s, and the server's batching counters from /health.

Printed: machine, date, versions, load average before and after, and the tables (markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import RunConfig, load_config
from tunesmith.data.formats.squad import import_squad
from tunesmith.data.schema import read_records
from tunesmith.inference import generate_answers
from tunesmith.serve import GuardService, create_app
from tunesmith.utils.layout import RunLayout

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart" / "tunesmith.yaml"


def questions(config: RunConfig) -> list[tuple[str, str]]:
    if config.eval.dataset:
        path = config.resolve(config.eval.dataset)
        records = import_squad(path).records if path.suffix == ".json" else read_records(path)
    else:
        records = read_records(RunLayout.of(config).val_jsonl)
    return [(r.question, r.context) for r in records]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q  # linear interpolation, numpy's default
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95),
            "mean_ms": statistics.fmean(ms), "max_ms": max(ms)}


def latency(service: GuardService, items: list[tuple[str, str]], repeats: int) -> dict[str, Any]:
    guard, config = service.guard, service.config
    quiet = Console(quiet=True)
    system = config.guard.system_message()

    def guarded(q: str, c: str) -> None:
        guard.answer_many([q], [c], quiet)

    def plain(q: str, c: str) -> None:
        generate_answers(guard.predictor, [q], [c], system, config.eval.max_new_tokens, 1,
                         console=quiet)

    guarded(*items[0])
    plain(*items[0])  # warm-up: first-call allocations and lazy imports
    times: dict[str, list[float]] = {"guarded": [], "plain": []}
    cpu: dict[str, list[float]] = {"guarded": [], "plain": []}
    for i in range(repeats):
        q, c = items[i % len(items)]
        order = [("guarded", guarded), ("plain", plain)]
        for name, fn in order if i % 2 == 0 else order[::-1]:  # alternate who goes first
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(q, c)
            times[name].append((time.perf_counter() - start) * 1000)
            # the process's CPU time (all its threads): what the answer costs, whatever else
            # runs on the machine; wall time is what a user waits
            cpu[name].append((time.process_time() - start_cpu) * 1000)
    out: dict[str, Any] = {name: summary(ms) for name, ms in times.items()}
    out["cpu"] = {name: summary(ms) for name, ms in cpu.items()}
    out["overhead_p50"] = out["guarded"]["p50_ms"] / out["plain"]["p50_ms"]
    out["overhead_mean"] = out["guarded"]["mean_ms"] / out["plain"]["mean_ms"]
    out["overhead_cpu_p50"] = out["cpu"]["guarded"]["p50_ms"] / out["cpu"]["plain"]["p50_ms"]
    out["overhead_cpu_mean"] = (out["cpu"]["guarded"]["mean_ms"]
                                / out["cpu"]["plain"]["mean_ms"])
    return out


def load_test(service: GuardService, items: list[tuple[str, str]], requests: int,
              concurrency: int) -> dict[str, Any]:
    import httpx
    import openai
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=600,
                           http_client=httpx.Client(limits=httpx.Limits(
                               max_connections=concurrency)))
    errors: list[str] = []
    rejected = 0

    def one(i: int) -> float:
        nonlocal rejected
        q, c = items[i % len(items)]
        start = time.perf_counter()
        try:
            reply = client.chat.completions.create(
                model=service.model_id, messages=[{"role": "system", "content": c},
                                                  {"role": "user", "content": q}])
            rejected += bool(reply.model_extra["tunesmith"]["rejection_flag"])
        except Exception as exc:  # counted, not raised: the test reports errors
            errors.append(f"{type(exc).__name__}: {exc}")
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ms = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    stats = httpx.get(f"{url}/health").json()
    server.should_exit = True
    thread.join(timeout=60)
    return {"requests": requests, "concurrency": concurrency, "errors": len(errors),
            "error_examples": errors[:3], "rejected": rejected, "wall_s": wall,
            "requests_per_s": requests / wall, **summary(ms),
            "server": {k: stats[k] for k in ("requests", "batches", "largest_batch", "errors")}}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in
                 Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cpu": cpu, "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "python": platform.python_version(),
            "versions": {p: metadata.version(p) for p in
                         ("torch", "transformers", "peft", "fastapi", "uvicorn", "openai")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", type=Path, default=QUICKSTART)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = load_config(args.config, [])
    items = questions(config)
    info = {**machine(), "config": str(args.config), "model": config.model.name,
            "method": config.method.name, "max_new_tokens": config.eval.max_new_tokens,
            "load_before": os.getloadavg()}
    service = GuardService.from_config(config)
    info["gates"] = service.guard.gates
    results: dict[str, Any] = {"machine": info}
    if not args.skip_latency:
        results["latency"] = latency(service, items, args.repeats)
        print(json.dumps(results["latency"], indent=1), file=sys.stderr, flush=True)
    if not args.skip_load:
        results["load"] = load_test(service, items, args.requests, args.concurrency)
    info["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
