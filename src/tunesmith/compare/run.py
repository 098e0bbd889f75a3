"""``tunesmith compare``: every method on the same data, seed, step budget and evaluation.

The data and base model come from the run's own stages (built once, skipped when up to date);
then each method trains in a fresh process (``compare.worker``) so that its peak memory is its
own, and a method that fails becomes a row with its error while the others go on.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith import __version__
from tunesmith.compare.forgetting import (
    add_forgetting_columns,
    forgetting_meta,
    forgetting_variants,
    write_forgetting_outputs,
)
from tunesmith.compare.report import write_outputs
from tunesmith.compare.worker import BASE
from tunesmith.config import load_config
from tunesmith.errors import TunesmithError
from tunesmith.methods import METHODS
from tunesmith.pipeline.run import run_pipeline
from tunesmith.train.callbacks import make_progress
from tunesmith.utils.hashing import sha256_json, sha256_tree
from tunesmith.utils.io import write_json_atomic
from tunesmith.utils.layout import RunLayout

# 20 steps x 8 examples: long enough for every method to move its eval loss on the quickstart
# (measured: docs/methods.md), short enough for --methods all in well under an hour on 2 cores
DEFAULT_MAX_STEPS = 20


@dataclass
class Comparison:
    rows: list[dict[str, Any]]
    meta: dict[str, Any]
    out_dir: Path


def resolve_methods(spec: str) -> list[str]:
    """``all`` or a comma-separated list of registered names (unknown names are an error)."""
    if spec.strip() == "all":
        return METHODS.names()
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise TunesmithError("--methods: give method names separated by commas, or 'all'")
    for name in names:
        METHODS.get(name)  # raises with the nearest name and the list of known ones
    return list(dict.fromkeys(names))


def compare_methods(
    config_path: Path,
    methods: list[str],
    overrides: list[str] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    timeout_s: float = 3600,
    console: Console | None = None,
    jobs: int = 1,
    force: bool = False,
    method_overrides: dict[str, list[str]] | None = None,
    forgetting: bool = False,
) -> Comparison:
    """Train and score each method; write comparison.{json,md,png} under runs/<name>/compare/.

    ``jobs`` > 1 runs that many methods at once (each in its own process, so peak memory stays
    per method); their tokens/s then share the CPU and are only comparable within one run.
    A method whose result from the same config, budget and base is on disk is not run again
    (a row says ``reused``) unless ``force``: an interrupted comparison resumes.
    ``method_overrides`` adds ``--set`` items for one method only (recorded in the output).
    ``forgetting``: the configured method without and with each mitigation, and ``methods``
    (default: full fine-tuning) as isolation contrasts, each probed for forgetting too
    (``compare.forgetting``); writes forgetting.{json,md,png} instead of comparison.*.
    """
    console = console or Console(stderr=True)
    overrides = list(overrides or [])
    config = load_config(config_path, overrides)
    # each row: its name, the method it trains and its own --set items
    variants = ([(v.label, v.method, v.overrides)
                 for v in forgetting_variants(config.method.name, methods)] if forgetting
                else [(m, m, []) for m in methods])
    for name, items in (method_overrides or {}).items():
        if name not in [label for label, _, _ in variants]:
            raise TunesmithError(f"--method-set {name}: not among the methods compared")
        load_config(config_path, [*overrides, *items])  # a bad key fails now, not mid-run
    run_pipeline(config, until="model", console=console, report=False)  # same data for all
    layout = RunLayout.of(config)
    base_model = layout.base_model()
    data_dir = layout.data_dir
    out_dir = layout.compare_dir
    runs_dir = out_dir / "forgetting" if forgetting else out_dir  # one folder per row
    # the data too: another build of the same config (new code, a review round) is other data
    config_hash = sha256_json({
        "config": config.model_dump(mode="json", exclude={"method"}),
        "data": {f: sha256_tree(data_dir / f) for f in ("train.jsonl", "val.jsonl",
                                                       f"{config.eval.split}.jsonl")}})

    started = time.time()
    variants = [(BASE, BASE, []), *variants]
    names = [label for label, _, _ in variants]
    results: dict[str, dict[str, Any]] = {}
    threads = max(1, (_cpu_count() or 1) // jobs)  # oversubscribed cores slow every job down
    with make_progress(console) as progress, ThreadPoolExecutor(max_workers=jobs) as pool:
        task = progress.add_task("comparing methods", total=len(names), info="")
        own = method_overrides or {}
        futures = {pool.submit(_run_worker, config_path, name, runs_dir / name, base_model,
                               data_dir, max_steps, [*overrides, *extra, *own.get(name, [])],
                               timeout_s, threads if jobs > 1 else None, config_hash, force,
                               method, forgetting): name
                   for name, method, extra in variants}
        for future in as_completed(futures):
            name = futures[future]
            row = results[name] = future.result()
            status = ("ok" if row.get("status") == "ok"
                      else f"[red]error[/red]: {str(row.get('error'))[:120]}")
            progress.console.print(f"  {name}: {status}", highlight=False)
            progress.update(task, advance=1, info=name)
    rows = [results[name] for name in names]  # the order asked for, whatever finished first
    _add_relative_scores(rows)
    meta = {
        "config": str(config_path), "run": config.name, "seed": config.seed,
        "max_steps": max_steps, "jobs": jobs, "batch_size": config.train.batch_size,
        "learning_rate": config.train.learning_rate, "eval_split": config.eval.split,
        "base_model": base_model, "overrides": overrides,
        "method_overrides": method_overrides or {},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": _cpu_count(), "gpu": _gpu_name(), "seconds": time.time() - started,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "versions": _versions(),
    }
    if forgetting:
        add_forgetting_columns(rows)
        meta.update(forgetting_meta(config, max_steps))
        write_forgetting_outputs(rows, meta, out_dir)
    else:
        write_outputs(rows, meta, out_dir)
    return Comparison(rows, meta, out_dir)


def _run_worker(config_path: Path, name: str, out: Path, base_model: str, data_dir: Path,
                max_steps: int, overrides: list[str], timeout_s: float,
                threads: int | None, config_hash: str, force: bool, method: str | None = None,
                probe: bool = False) -> dict[str, Any]:
    """Row ``name`` trains ``method`` (default: ``name``), probed for forgetting if ``probe``."""
    out.mkdir(parents=True, exist_ok=True)
    result = out / "result.json"
    marker = out / "fingerprint.json"
    fingerprint = method_fingerprint(config_hash, name, max_steps, overrides, base_model,
                                     method=method if method != name else None, probe=probe)
    if not force and _read_json(marker).get("fingerprint") == fingerprint:
        previous = _read_json(result)
        if previous.get("status") == "ok":  # same inputs, finished: measured already
            return {**previous, "reused": True}
    result.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    command = [sys.executable, "-m", "tunesmith.compare.worker", str(config_path),
               method or name, str(out), "--base-model", base_model, "--data", str(data_dir),
               "--max-steps", str(max_steps), "--label", name, *(["--forgetting"] if probe else [])]
    for item in overrides:
        command += ["--set", item]
    log = out / "log.txt"
    with log.open("w", encoding="utf-8") as handle:
        try:
            env = dict(os.environ)
            if threads:
                env["OMP_NUM_THREADS"] = str(threads)
            code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                  timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired:
            return {"method": name, "status": "error",
                    "error": f"timed out after {timeout_s:.0f} s (log: {log})"}
    if result.is_file():
        row: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        write_json_atomic(marker, {"fingerprint": fingerprint})
        return row
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return {"method": name, "status": "error",
            "error": f"worker exited with code {code}: {' | '.join(tail)} (log: {log})"}


def _add_relative_scores(rows: list[dict[str, Any]]) -> None:
    """F1 as a % of full fine-tuning's, and whether training lowered the eval loss."""
    full = next((r for r in rows if r.get("method") == "full" and r.get("status") == "ok"), None)
    full_f1 = full.get("f1") if full else None
    for row in rows:
        if row.get("status") != "ok":
            continue
        f1 = row.get("f1")
        row["f1_percent_of_full"] = (100.0 * f1 / full_f1 if full_f1 and f1 is not None
                                     else None)
        loss, base = row.get("eval_loss"), row.get("base_eval_loss")
        row["improved_eval_loss"] = (loss < base) if loss is not None and base is not None else None


def method_fingerprint(config_hash: str, name: str, max_steps: int, overrides: list[str],
                       base_model: str, method: str | None = None, probe: bool = False) -> str:
    """What a method's measurement depends on: equal fingerprints, reusable result."""
    extra = {**({"trains": method} if method else {}), **({"probe": True} if probe else {})}
    return sha256_json({"tunesmith": __version__, "config": config_hash, "method": name,
                        "max_steps": max_steps, "overrides": overrides,
                        "base_model": base_model, **extra})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _cpu_count() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _versions() -> dict[str, str]:
    import bitsandbytes
    import peft
    import torch
    import transformers
    import trl

    return {"tunesmith": __version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "peft": peft.__version__,
            "trl": trl.__version__, "bitsandbytes": bitsandbytes.__version__,
            "python": platform.python_version()}
