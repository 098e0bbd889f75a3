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

from tunesmith.utils.io import write_json_atomic

BASE = "base"  # the untrained base model: the row every method is measured against


def peak_memory_mb() -> tuple[float, str]:
    """(peak MiB, how measured)."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda max_memory_allocated"
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024, "process peak RSS (ru_maxrss)"


def score_model(model: Any, tokenizer: Any, config: Any, data_dir: Path, label: str,
                out_dir: Path) -> dict[str, Any]:
    """SQuAD 2.0 EM/F1 on the eval split, with the evaluation harness's own functions."""
    from tunesmith.data.schema import read_records
    from tunesmith.evaluate.harness import generate_answers, score_predictions
    from tunesmith.utils.io import write_jsonl_atomic

    records = read_records(data_dir / f"{config.eval.split}.jsonl")
    if config.eval.max_examples:
        records = records[: config.eval.max_examples]
    answers = generate_answers(model, tokenizer, records, config.guard,
                               config.eval.max_new_tokens, config.eval.batch_size,
                               f"answering ({label})", None)
    score = score_predictions(records, answers, config.guard, label)
    write_jsonl_atomic(out_dir / "predictions.jsonl", score.rows)
    return {"f1": score.metrics["f1"], "exact": score.metrics["exact"],
            "HasAns_f1": score.metrics.get("HasAns_f1"),
            "NoAns_f1": score.metrics.get("NoAns_f1")}


def comparable_method(configured: Any, name: str) -> Any:
    """The config's own method as configured; another method with its defaults, plus each of
    the configured keys it also takes (rank, alpha, target modules ...), where valid for it."""
    from pydantic import ValidationError

    from tunesmith.config import MethodConfig
    from tunesmith.methods import METHODS

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


def run_base(config: Any, base_model: str, data_dir: Path, out_dir: Path) -> dict[str, Any]:
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.train.sft import count_parameters

    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)
    model: Any = load_causal_lm(base_model, revision=config.model.revision,
                                trust_remote_code=config.model.trust_remote_code)
    if torch.cuda.is_available():
        model = model.to("cuda")
    _, total = count_parameters(model)
    row: dict[str, Any] = {"method": BASE, "family": "none", "trainable_params": 0,
                           "total_params": total, "trainable_percent": 0.0}
    row.update(score_model(model, tokenizer, config, data_dir, BASE, out_dir))
    return row


def run_method(config: Any, base_model: str, data_dir: Path, out_dir: Path) -> dict[str, Any]:
    from rich.console import Console

    from tunesmith.methods import METHODS
    from tunesmith.methods.saved import load_tuned
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.train.sft import train_sft

    name = config.method.name
    start = time.perf_counter()
    result = train_sft(config, base_model, data_dir, out_dir / "train",
                       Console(stderr=True, force_terminal=False))
    m = result.metrics
    row: dict[str, Any] = {
        "method": name, "family": METHODS.get(name).family,
        "trainable_params": m["trainable_params"], "total_params": m["total_params"],
        "trainable_percent": m["trainable_percent"],
        "tokens_per_s": m.get("train_tokens_per_second"), "train_tokens": m.get("train_tokens"),
        "train_seconds": m.get("train_runtime"), "steps": config.train.max_steps,
        "eval_loss": m.get("eval_loss"), "base_eval_loss": m.get("base_eval_loss"),
    }
    row["peak_memory_mb"], row["memory_measure"] = peak_memory_mb()  # training's peak
    # score what was saved, loaded back the way evaluation loads it
    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)

    def load_base(**kwargs: Any) -> Any:
        model: Any = load_causal_lm(base_model, revision=config.model.revision,
                                    trust_remote_code=config.model.trust_remote_code, **kwargs)
        quantised = "quantization_config" in kwargs
        return model.to("cuda") if torch.cuda.is_available() and not quantised else model

    tuned = load_tuned(load_base, result.adapter_dir, config.eval.load_in)
    row.update(score_model(tuned, tokenizer, config, data_dir, name, out_dir))
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
    args = parser.parse_args(argv)

    from tunesmith.config import load_config
    from tunesmith.pipeline.run import _quiet_libraries

    _quiet_libraries()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        config = load_config(args.config, [*args.overrides, f"train.max_steps={args.max_steps}"])
        if args.method != BASE:
            config.method = comparable_method(config.method, args.method)
        if args.method == BASE:
            row = run_base(config, args.base_model, args.data, out_dir)
        else:
            row = run_method(config, args.base_model, args.data, out_dir)
        row["status"] = "ok"
    except Exception as error:  # a failing method is a row with its error; the run goes on
        traceback.print_exc()
        row = {"method": args.method, "status": "error",
               "error": f"{type(error).__name__}: {error}".strip()[:2000]}
    write_json_atomic(out_dir / "result.json", row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
