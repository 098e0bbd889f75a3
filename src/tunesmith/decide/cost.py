"""Cost-benefit: what fine-tuning costs once, what each answer costs, and when it pays.

seed, step 4: "Calculate infrastructure costs (GPU hours x cloud rates)"; "Estimate
annotation/curation expenses ($3-10 per example)"; "Project accuracy improvement ROI (+15%
typically justifies investment)"; and step 2: "Evaluate cost of API solutions vs in-house
deployment".

- training: the planner's hyperparameters (``plan.planner.build_plan``) and time model
  (``plan.compute.estimate_time``) on a catalog GPU, for the training split's tokens, times the
  catalog's $/hour;
- annotation: the curated examples (at least the seed's minimum) at the configured low and
  high price;
- serving in-house: one answer at a time at the measured p50 latency, on the configured
  catalog hardware's $/hour, per 1,000 answers;
- an API: the best prompting baseline's prompt and reply tokens per answer, priced per 1,000
  tokens from the editable table, per 1,000 answers;
- break-even: the answers after which the one-off cost is paid back by answering in-house
  instead of through each API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.plan.catalog import get_gpu
from tunesmith.plan.compute import estimate_time
from tunesmith.plan.cost import cost_usd
from tunesmith.plan.hparams import Hardware
from tunesmith.plan.planner import build_plan, setup_for, shape_for

A100 = "a100-80gb"  # seed: "$3.67/hr per A100 80GB"


def _catalog(config: RunConfig) -> Path | None:
    return Path(config.plan.gpu_catalog) if config.plan.gpu_catalog else None


def training_cost(config: RunConfig, n_train: int, tokens_per_example: float) -> dict[str, Any]:
    """The planner's GPU-hours for training on ``n_train`` examples, and their price."""
    key = config.decide.cost.train_gpu or (
        config.plan.hardware if not is_auto(config.plan.hardware) else A100)
    gpu = get_gpu(key, _catalog(config))
    hardware = Hardware("cuda", gpu.memory_gib, gpu.bf16, gpu.label)
    chosen = build_plan(config, n_train, hardware).chosen()
    setup = setup_for(config, hardware, batch_size=int(chosen["batch_size"]))
    epochs = float(chosen["epochs"])
    tokens = n_train * epochs * tokens_per_example
    if config.train.max_steps:  # a step cap ends training first when it is shorter
        per_step = setup.batch_size * int(chosen.get("gradient_accumulation_steps") or 1)
        tokens = min(tokens, config.train.max_steps * per_step * tokens_per_example)
    time = estimate_time(shape_for(config), setup, tokens, gpu.peak_tflops(setup.precision),
                         config.plan.utilisation)
    return {"gpu": gpu.key, "gpu_label": gpu.label, "usd_per_hour": gpu.usd_per_hour,
            "gpus": setup.gpus, "epochs": epochs, "tokens": tokens,
            "gpu_hours": time.hours * setup.gpus,
            "usd": cost_usd(time.hours, setup.gpus, gpu)}


def per_1k_answers(config: RunConfig, latency_ms: float, prompt_tokens: float,
                   answer_tokens: float) -> dict[str, Any]:
    """Serving in-house at ``latency_ms`` per answer, and each API at these tokens per answer,
    for 1,000 answers (USD)."""
    cost = config.decide.cost
    hardware = get_gpu(cost.serving_hardware, _catalog(config))
    in_house = latency_ms / 1000.0 * 1000 / 3600.0 * hardware.usd_per_hour
    apis = {name: prompt_tokens * p.input_per_1k + answer_tokens * p.output_per_1k
            for name, p in cost.api_prices.items()}  # (tokens / 1000) * price * 1000 answers
    return {"in_house": in_house, "in_house_hardware": hardware.key,
            "in_house_usd_per_hour": hardware.usd_per_hour, "apis": apis}


def cost_benefit(config: RunConfig, examples: int, training: Mapping[str, Any],
                 serving: Mapping[str, Any], best_f1: float | None) -> dict[str, Any]:
    """The one-off cost (training + annotation, low and high), the gain the target implies
    over the best baseline, and the break-even in answers against each API."""
    low_price, high_price = config.decide.cost.annotation_usd_per_example
    curated = max(examples, config.decide.data_range[0])
    one_off = {"low": training["usd"] + curated * low_price,
               "high": training["usd"] + curated * high_price}
    break_even: dict[str, dict[str, float | None]] = {}
    for name, api in serving["apis"].items():
        saving = (api - serving["in_house"]) / 1000.0  # per answer
        break_even[name] = {k: (v / saving if saving > 0 else None) for k, v in one_off.items()}
    gain = None if best_f1 is None else config.decide.target_f1 - best_f1
    return {
        "training": dict(training),
        "annotation": {"examples": curated, "usd_low": curated * low_price,
                       "usd_high": curated * high_price},
        "one_off_usd": one_off,
        "per_1k_answers_usd": dict(serving),
        "expected_gain_f1": gain,
        "seed_roi_points": 15.0,  # seed: "+15% typically justifies investment"
        "break_even_answers": break_even,
    }
