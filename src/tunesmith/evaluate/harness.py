"""Generate answers on a split with the base and the tuned model, and score both.

Scoring follows the SQuAD 2.0 definitions: a prediction of the abstention text (or nothing)
counts as the empty "no answer" prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import GuardConfig, RunConfig
from tunesmith.data.schema import QARecord, read_records
from tunesmith.evaluate.metrics.squad_v2 import (
    SquadExample,
    compute_exact,
    compute_f1,
    normalize_answer,
    squad_v2_scores,
)
from tunesmith.models.chat import build_messages
from tunesmith.models.loading import load_causal_lm, load_tokenizer
from tunesmith.train.callbacks import make_progress
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic

ABSTAIN_MARKERS = ("INSUFFICIENT_CONTEXT",)


def as_squad_prediction(text: str, guard: GuardConfig) -> str:
    """The abstention text (or an empty answer) becomes SQuAD's no-answer prediction ''."""
    stripped = text.strip()
    markers = (guard.abstain_text, *ABSTAIN_MARKERS)
    if not normalize_answer(stripped) or any(m in stripped for m in markers):
        return ""
    return stripped


@torch.inference_mode()
def generate_answers(
    model: Any,
    tokenizer: Any,
    records: Sequence[QARecord],
    guard: GuardConfig,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    description: str = "generating",
    console: Console | None = None,
) -> list[str]:
    """Greedy answers, batched by prompt length (left padding for decoder-only models)."""
    tokenizer.padding_side = "left"
    prompts = [
        tokenizer.apply_chat_template(
            build_messages(r.context, r.question, guard.system_message()),
            add_generation_prompt=True,
            tokenize=False,
        )
        for r in records
    ]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    answers = [""] * len(prompts)
    model.eval()
    device = next(model.parameters()).device
    with make_progress(console) as progress:
        task = progress.add_task(description, total=len(prompts), info="")
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = tokenizer(
                [prompts[i] for i in index],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,  # the chat template already holds bos
            ).to(device)
            output = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            for i, text in zip(index, tokenizer.batch_decode(new_tokens, skip_special_tokens=True),
                               strict=True):
                answers[i] = text.strip()
            progress.update(task, advance=len(index))
    return answers


@dataclass
class ModelScore:
    metrics: dict[str, float]
    rows: list[dict[str, Any]]


def score_predictions(
    records: Sequence[QARecord], raw_answers: Sequence[str], guard: GuardConfig, label: str
) -> ModelScore:
    examples = [SquadExample(r.id, r.references) for r in records]
    predictions = {
        r.id: as_squad_prediction(a, guard) for r, a in zip(records, raw_answers, strict=True)
    }
    metrics = squad_v2_scores(examples, predictions)
    rows = []
    for record, raw in zip(records, raw_answers, strict=True):
        prediction = predictions[record.id]
        golds = [g for g in record.references if normalize_answer(g)] or [""]
        rows.append({
            "id": record.id,
            "model": label,
            "kind": record.kind,
            "question": record.question,
            "answers": record.references,
            "generated": raw,
            "prediction": prediction,
            "exact": max(compute_exact(g, prediction) for g in golds),
            "f1": max(compute_f1(g, prediction) for g in golds),
        })
    return ModelScore(metrics, rows)


def evaluate_run(
    config: RunConfig,
    base_model: str,
    adapter_dir: Path | None,
    data_dir: Path,
    out_dir: Path,
    console: Console | None = None,
) -> dict[str, dict[str, float]]:
    """Score each model of ``eval.compare`` on ``eval.split``; writes metrics and predictions."""
    from tunesmith.methods.saved import load_tuned, quantization_kwargs

    records = read_records(data_dir / f"{config.eval.split}.jsonl")
    if config.eval.max_examples:
        records = records[: config.eval.max_examples]
    if not records:
        raise ValueError(f"{data_dir / (config.eval.split + '.jsonl')}: no records to evaluate")
    tokenizer = load_tokenizer(base_model, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)
    results: dict[str, dict[str, float]] = {}
    all_rows: list[dict[str, Any]] = []
    for label in config.eval.compare:
        def load_base(**kwargs: Any) -> Any:
            quantised = "quantization_config" in kwargs
            if quantised and torch.cuda.is_available():
                kwargs["device_map"] = {"": 0}  # bitsandbytes places weights while loading
            base: Any = load_causal_lm(base_model, revision=config.model.revision,
                                       trust_remote_code=config.model.trust_remote_code,
                                       **kwargs)
            return base.to("cuda") if torch.cuda.is_available() and not quantised else base

        if label == "tuned":
            if adapter_dir is None:
                raise FileNotFoundError("no trained model; run training first")
            # the method that saved the folder loads it (a PEFT adapter, or a native method)
            model: Any = load_tuned(load_base, adapter_dir, config.eval.load_in)
        else:
            model = load_base(**quantization_kwargs(config.eval.load_in))
        answers = generate_answers(
            model, tokenizer, records, config.guard, config.eval.max_new_tokens,
            config.eval.batch_size, f"answering ({label})", console,
        )
        score = score_predictions(records, answers, config.guard, label)
        results[label] = score.metrics
        all_rows.extend(score.rows)
        del model
    write_jsonl_atomic(out_dir / "predictions.jsonl", all_rows)
    write_json_atomic(out_dir / "metrics.json", results)
    return results
