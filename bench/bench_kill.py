"""Benchmark: ``kill -9`` at random points of ``tunesmith run``, then a rerun, N times.

    python bench/bench_kill.py [--trials 20] [--seed 0] [--work DIR]
        [--out bench/results/kill.json]

- **the run**: a tiny config (the tiny LLaMA tunesmith builds, 8 short documents, 3 epochs of
  9 steps with a checkpoint every 3 and a log every 2, eval with a short forgetting probe),
  the same as ``tests/integration/test_kill_resume.py``. Each trial has its own run folder
  *and its own model cache*, so the tiny model's pre-training (the model stage) is killed too.
- **the reference**: one uninterrupted run first; its wall time T.
- **a trial**: start ``tunesmith run`` in its own process group, ``SIGKILL`` the group at a
  time drawn uniformly from [0, T) (``random.Random(seed)``), then run it again to the end.
  On a shared machine a run's time follows the load: a run that ends before its kill time
  is recorded as ``finished``, its time becomes T, and another point is drawn, until
  ``--trials`` runs were killed.
  The stage killed is read from the run folder at the kill: the first stage without its
  manifest (``startup`` before the data stage's folder exists, ``report`` after eval's
  manifest).
- **checked after the kill**, before the rerun: every JSON, JSON Lines and safetensors file
  under the run folder and the model cache (what a later stage could read) parses; files a
  stage reads by a final name are never partial. Leftovers that no stage reads (temporary
  siblings of an atomic write, a checkpoint without ``trainer_state.json``) are counted.
- **checked after the rerun**: exit code 0; train's metrics (wall-clock fields left out),
  eval's metrics, the forgetting probe's scores, the adapter's bytes and the predictions equal
  the reference's exactly.

Reported: per trial the stage, the kill time, the rerun's time, completed, matched, invalid
files and leftovers; the machine, the versions, the date; a summary table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

FACTS = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.

The configuration file {i} is stored in /etc/harborlight/h{i}.toml. The segment size {i}
defaults to {i}12 MB. The console {i} uses the token in HL_TOKEN_{i}.
"""

# pre-training stops at 15 steps, never at its time budget: a time budget makes the base
# depend on the machine's load (14 steps under load gave another model)
CONFIG = """\
schema_version: 1
name: kill
output_dir: {case}/runs
model:
  tiny: {{hidden_size: 32, layers: 2, heads: 2, vocab_size: 400, pretrain_minutes: 5,
          pretrain_max_steps: 15, pretrain_batch_size: 4, pretrain_seq_len: 64}}
  cache_dir: {case}/cache
data:
  sources: [{{path: docs}}]
  split: {{val: 0.2, test: 0.2}}
train: {{epochs: 3, batch_size: 2, logging_steps: 2}}
eval: {{max_new_tokens: 6, forgetting: {{max_items: 6, max_new_tokens: 16}}}}
"""

STAGES = ("data", "model", "train", "eval")  # `tunesmith run` on a causal LM, in order
TIMINGS = ("runtime", "per_second", "preparation_time")  # wall-clock, not results


def project(work: Path) -> None:
    (work / "docs").mkdir(parents=True, exist_ok=True)
    for i in range(1, 9):
        (work / "docs" / f"d{i}.md").write_text(FACTS.format(i=i), encoding="utf-8")


def config_for(work: Path, case: str) -> Path:
    path = work / f"{case}.yaml"
    path.write_text(CONFIG.format(case=case), encoding="utf-8")
    return path


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "tunesmith", "run", str(config)],
                                cwd=config.parent, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def run_to_end(config: Path, log: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    proc = start(config, log)
    return proc.wait(timeout=1800), time.perf_counter() - t0


def stage_at(run: Path) -> str:
    if not (run / "data").exists():
        return "startup"
    for stage in STAGES:
        if not (run / stage / "manifest.json").exists():
            return stage
    return "report"


def final(run: Path) -> dict[str, Any]:
    """What a run ends with (as the integration test compares it)."""
    def results(d: dict[str, Any]) -> dict[str, Any]:
        return {k: results(v) if isinstance(v, dict) else v for k, v in d.items()
                if not any(t in k for t in TIMINGS)}

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    train = json.loads((run / "train" / "manifest.json").read_text())["details"]["metrics"]
    return {"train": results(train),
            "eval": json.loads((run / "eval" / "metrics.json").read_text()),
            "forgetting": json.loads((run / "eval" / "forgetting.json").read_text())["models"],
            "adapter": digest(run / "train" / "adapter" / "adapter_model.safetensors"),
            "predictions": digest(run / "eval" / "predictions.jsonl")}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b))
                for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    return [] if a == b else [f"{path or '.'}: {a!r} != {b!r}"]


def is_leftover(path: Path, root: Path) -> bool:
    """A temporary sibling of an atomic write or build (no stage reads one)."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def check_files(root: Path) -> tuple[list[str], list[str]]:
    """(invalid files at final names, leftovers no stage reads) under ``root``."""
    from safetensors.torch import load_file

    invalid: list[str] = []
    leftovers: set[str] = set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        if is_leftover(path, root):
            top = next(p for p in path.relative_to(root).parents
                       if p.name.startswith(".") or p == Path("."))
            leftovers.add(str(top) if str(top) != "." else rel)
            continue
        try:
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".jsonl":
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        json.loads(line)
            elif path.suffix == ".safetensors":
                load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            invalid.append(f"{rel}: {type(exc).__name__}")
    for folder in root.rglob("checkpoint-*"):
        if folder.is_dir() and not (folder / "trainer_state.json").is_file():
            leftovers.add(f"{folder.relative_to(root)} (incomplete checkpoint)")
    return invalid, sorted(leftovers)


def trial(work: Path, index: int, at: float, reference: dict[str, Any]) -> dict[str, Any]:
    case = f"trial-{index:02d}"
    config = config_for(work, case)
    run = work / case / "runs" / "kill"
    log = work / f"{case}.log"
    proc = start(config, log)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < at and proc.poll() is None:
        time.sleep(0.01)
    ran = time.perf_counter() - t0
    finished_first = proc.poll() is not None
    stage = "finished" if finished_first else stage_at(run)
    checkpoints = sorted(p.name for p in (run / "train" / "checkpoints").glob("checkpoint-*"))
    if not finished_first:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    invalid, leftovers = check_files(work / case)
    rc, seconds = run_to_end(config, work / f"{case}.rerun.log")
    out = (work / f"{case}.rerun.log").read_text(encoding="utf-8", errors="replace")
    diff = differences(reference, final(run)) if rc == 0 else ["the rerun failed"]
    resumed = next((line.split("checkpoints/")[-1] for line in out.splitlines()
                    if line.startswith("resuming from")), None)
    return {"trial": index, "kill_at_s": round(at, 2), "ran_s": round(ran, 2), "stage": stage,
            "checkpoints_at_kill": checkpoints, "rerun_s": round(seconds, 1),
            "completed": rc == 0, "matched": not diff, "differences": diff[:5],
            "resumed_from": resumed, "invalid_files": invalid, "leftovers": leftovers}


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("tunesmith", "torch", "transformers", "trl", "peft", "accelerate"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "load_average_at_start": os.getloadavg()}


def table(trials: list[dict[str, Any]]) -> str:
    rows = ["| # | killed in | at (s) | rerun (s) | resumed from | completed | metrics equal |"
            " invalid files | leftovers |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in trials:
        rows.append(f"| {t['trial']} | {t['stage']} | {t['kill_at_s']:.1f} | {t['rerun_s']:.1f}"
                    f" | {t['resumed_from'] or '-'} | {'yes' if t['completed'] else 'NO'}"
                    f" | {'yes' if t['matched'] else 'NO'} | {len(t['invalid_files'])}"
                    f" | {len(t['leftovers'])} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="kept; default a temp folder")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "kill.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-kill-"))
    project(work)
    started = datetime.now(timezone.utc)
    info = {"machine": machine(), "versions": versions(), "date": started.isoformat()}

    rc, total = run_to_end(config_for(work, "reference"), work / "reference.log")
    if rc != 0:
        sys.exit(f"the uninterrupted run failed: see {work / 'reference.log'}")
    reference = final(work / "reference" / "runs" / "kill")
    print(f"reference: {total:.1f} s uninterrupted")
    rng = random.Random(args.seed)
    trials: list[dict[str, Any]] = []
    expected = total
    while sum(t["stage"] != "finished" for t in trials) < args.trials \
            and len(trials) < 3 * args.trials:
        index = len(trials) + 1
        at = rng.uniform(0.0, expected)
        result = trial(work, index, at, reference)
        trials.append(result)
        if result["stage"] == "finished":  # the machine got faster: its time is the new T
            expected = result["ran_s"]
        print(f"trial {index}: killed in {result['stage']} at {at:.1f} s; completed "
              f"{result['completed']}, matched {result['matched']}", flush=True)
        if not args.work:
            shutil.rmtree(work / f"trial-{index:02d}", ignore_errors=True)

    stages = Counter(t["stage"] for t in trials)
    summary = {"trials": len(trials), "killed": len(trials) - stages["finished"],
               "by_stage": dict(stages),
               "completed": sum(t["completed"] for t in trials),
               "matched": sum(t["matched"] for t in trials),
               "with_invalid_files": sum(bool(t["invalid_files"]) for t in trials),
               "with_leftovers": sum(bool(t["leftovers"]) for t in trials),
               "reference_s": round(total, 1), "seed": args.seed}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**info, "summary": summary, "trials": trials}, indent=2)
                        + "\n", encoding="utf-8")
    print(table(trials))
    print(json.dumps(summary))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
