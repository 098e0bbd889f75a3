"""Inference: the one way to load a predictor and the one batched generator.

    from tunesmith.inference import generate_answers, load_predictor
    predictor = load_predictor(config, RunLayout.of(config), "tuned")
    answers = generate_answers(predictor, questions, contexts, config.guard.system_message())

A layer beside data, models and methods: it may import config, utils, data, models and
methods, never train, evaluate, guard, plan, pipeline or the CLI (which all call it).
"""

from __future__ import annotations

from tunesmith.inference.generate import (
    Generation,
    build_instruction_prompts,
    build_prompts,
    generate,
    generate_answers,
)
from tunesmith.inference.loading import (
    Predictor,
    inference_device,
    load_causal_model,
    load_predictor,
)

__all__ = ["Generation", "Predictor", "build_instruction_prompts", "build_prompts", "generate",
           "generate_answers", "inference_device", "load_causal_model", "load_predictor"]
