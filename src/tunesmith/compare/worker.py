"""One method of a comparison, in its own process: train, measure, score, write ``result.json``.

A fresh process per method makes the memory high-water mark the method's own. On CPU it is the
process's peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``: Python, torch, the
model, activations and optimizer state together); on CUDA, the allocator's peak
(``torch.cuda.max_memory_allocated``), which is what decides whether a GPU fits the run.

    python -m tunesmith.compare.worker CONFIG METHOD OUT_DIR --base-model PATH --data DIR \
        --max-steps N [--set key=value ...]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from tunesmith.compare.forgetting import probe_scores
from tunesmith.config import MethodConfig, load_config
from tunesmith.methods import METHODS
from tunesmith.pipeline.run import quiet_libraries
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic
from tunesmith.utils.layout import RunLayout

BASE = "base"  # the untrained base model: the row every method is measured against


def peak_memory_mb() -> tuple[float, str]:
    """(peak MiB, how measured)."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda max_memory_allocated"
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024, "process peak RSS (ru_maxrss)"


def score_model(predictor: Any, config: Any, data_dir: Path, out_dir: Path) -> dict[str, Any]:
    """SQuAD 2.0 EM/F1 on the evaluation set (``eval.dataset`` when set, else the eval split),
    with the evaluation harness's own loader, generator and scorer."""
    # deferred, as every import of the worker's steps: transformers loads only once a
    # method actually runs
    from tunesmith.evaluate.guarded import load_eval_records
    from tunesmith.evaluate.harness import answer_records, score_predictions

    # data_dir is the run's data folder (compare/run.py passes the layout's data_dir)
    records, _ = load_eval_records(config, RunLayout(data_dir.parent))
    answers = answer_records(predictor, records, config)
    score = score_predictions(records, [a.text for a in answers], config.guard,
                              predictor.label, [a.p_no_answer for a in answers])
    write_jsonl_atomic(out_dir / "predictions.jsonl", score.rows)
    return {key: score.metrics.get(key) for key in (
        "f1", "exact", "HasAns_f1", "NoAns_f1", "hallucination_rate", "false_abstain_rate")}


def comparable_method(configured: Any, name: str) -> Any:
    """The config's own method as configured; another method with its defaults, plus each of
    the configured keys it also takes (rank, alpha, target modules ...), where valid for it."""
    from pydantic import ValidationError


    if name == configured.name:
        return configured
    options_cls = METHODS.get(name).Options
    carried: dict[str, Any] = {}
    for key, value in (configured.model_extra or {}).items():
        if key in options_cls.model_fields:
            try:
                options_cls.model_validate({**carried, key: value})
            except ValidationError:
                continue
            carried[key] = value
    return MethodConfig(name=name, **carried)


def run_base(config: Any, base_model: str, data_dir: Path, out_dir: Path,
             probe: bool = False) -> dict[str, Any]:
    # deferred: importing these loads safetensors, transformers, datasets, trl
    from tunesmith.inference import load_predictor
    from tunesmith.train.sft import count_parameters

    predictor = load_predictor(config, None, BASE, base_model=base_model)
    _, total = count_parameters(predictor.model)
    row: dict[str, Any] = {"method": BASE, "family": "none", "trainable_params": 0,
                           "total_params": total, "trainable_percent": 0.0}
    row.update(score_model(predictor, config, data_dir, out_dir))
    if probe:  # compare --forgetting: the base's general ability, what the others are held to

        row.update(probe_scores(predictor, config, out_dir))
    return row


def run_method(config: Any, base_model: str, data_dir: Path, out_dir: Path,
               probe: bool = False) -> dict[str, Any]:
    from rich.console import Console

    # deferred: importing these loads safetensors, transformers, datasets, trl
    from tunesmith.forgetting import build_mitigations
    from tunesmith.inference import load_predictor
    from tunesmith.train.sft import train_sft

    name = config.method.name
    start = time.perf_counter()
    console = Console(stderr=True, force_terminal=False)
    # train.forgetting (compare --forgetting switches one mitigation on per row)
    mitigations = build_mitigations(config, base_model, data_dir, out_dir / "train", console)
    result = train_sft(config, base_model, data_dir, out_dir / "train", console,
                       extra_losses=mitigations.extra_losses or None,
                       extra_records=mitigations.extra_records or None,
                       callbacks=mitigations.callbacks or None)
    m = result.metrics
    row: dict[str, Any] = {
        "method": name, "family": METHODS.get(name).family,
        "trainable_params": m["trainable_params"], "total_params": m["total_params"],
        "trainable_percent": m["trainable_percent"],
        "tokens_per_s": m.get("train_tokens_per_second"), "train_tokens": m.get("train_tokens"),
        "train_seconds": m.get("train_runtime"), "steps": config.train.max_steps,
        "eval_loss": m.get("eval_loss"), "base_eval_loss": m.get("base_eval_loss"),
        "mitigation": mitigations.label, "forgetting": mitigations.summary(),
    }
    row["peak_memory_mb"], row["memory_measure"] = peak_memory_mb()  # training's peak
    # score what was saved, loaded back the way evaluation loads it
    tuned = load_predictor(config, None, name, base_model=base_model,
                           weights=result.adapter_dir)
    row.update(score_model(tuned, config, data_dir, out_dir))
    if probe:
        row.update(probe_scores(tuned, config, out_dir))
    row["seconds"] = time.perf_counter() - start
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("method")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--base-model", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--label", help="The row's name (default: the method's).")
    parser.add_argument("--forgetting", action="store_true",
                        help="Also run the forgetting probe on the model.")
    args = parser.parse_args(argv)


    quiet_libraries()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        config = load_config(args.config, [*args.overrides, f"train.max_steps={args.max_steps}"])
        configured = args.method == config.method.name
        if args.method != BASE:
            config.method = comparable_method(config.method, args.method)
        if args.method == BASE:
            row = run_base(config, args.base_model, args.data, out_dir, args.forgetting)
        else:
            row = run_method(config, args.base_model, args.data, out_dir, args.forgetting)
        row.update({"method": args.label or args.method, "base_method": args.method,
                    "configured": configured})
        row["status"] = "ok"
    except Exception as error:  # a failing method is a row with its error; the run goes on
        traceback.print_exc()
        row = {"method": args.label or args.method, "status": "error",
               "error": f"{type(error).__name__}: {error}".strip()[:2000]}
    write_json_atomic(out_dir / "result.json", row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
