"""Label smoothing and early stopping, applied by the trainer (train.label_smoothing,
train.early_stopping_*), on a real tiny model: early stopping ends the run before its last
step; label smoothing changes the training loss by exactly transformers' formula and leaves the
validation loss alone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from tunesmith.config import TrainConfig, parse_config
from tunesmith.data.schema import QARecord, write_records
from tunesmith.train.hardware import evaluation_plan, save_steps, steps_per_epoch

QUESTIONS = [
    ("Where is the Eiffel Tower?", 0, "Paris"),
    ("When was it completed?", 0, "1889"),
    ("What does photosynthesis store?", 1, "glucose"),
    ("What does photosynthesis convert?", 1, "light energy"),
    ("How many countries?", 2, "nine"),
    ("Which river carries the most water?", 2, "The Amazon river"),
    ("Who painted it?", 0, None),
    ("Who discovered it?", 1, None),
]



@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, facts: list[str]) -> Path:
    folder = tmp_path_factory.mktemp("data")
    records = [
        QARecord(id=f"r{i}", question=q, contexts=[facts[c]], answer=a,
                 answer_start=facts[c].index(a) if a else None,
                 kind="answerable" if a else "unanswerable")
        for i, (q, c, a) in enumerate(QUESTIONS)
    ]
    write_records(folder / "train.jsonl", records)  # 8 records, batch 2: 4 steps per epoch
    write_records(folder / "val.jsonl", records[5:])
    return folder


def _config(tmp_path: Path, train: str) -> Any:
    text = ("name: t\ndata:\n  sources:\n    - {path: docs/}\nmethod:\n  name: lora\n"
            "train:\n  batch_size: 2\n  max_length: 256\n  logging_steps: 1\n"
            "  learning_rate: 1.0e-2\n" + train)
    return parse_config(text, tmp_path / "t.yaml")


def test_patience_counts_epochs_and_evaluation_follows_checkpoints() -> None:
    off = evaluation_plan(TrainConfig(batch_size=2), 40, has_eval=True)
    assert off.kwargs["eval_strategy"] == "epoch" and not off.callbacks
    t = TrainConfig(batch_size=2, early_stopping_patience=4, early_stopping_min_delta=0.005)
    assert steps_per_epoch(40, t) == 20 and save_steps(40, t) == 6
    on = evaluation_plan(t, 40, has_eval=True)
    # scored at every checkpoint (6 steps: 20/6 evaluations per epoch); 4 epochs: 14 of them
    assert on.kwargs["eval_steps"] == on.kwargs["save_steps"] == 6
    assert on.kwargs["load_best_model_at_end"] and on.kwargs["metric_for_best_model"] == "eval_loss"
    assert on.kwargs["restore_callback_states_from_checkpoint"]  # patience survives a resume
    assert on.patience_evaluations == math.ceil(4 * 20 / 6) == 14
    callback = on.callbacks[0]
    assert callback.early_stopping_patience == 14  # type: ignore[attr-defined]
    assert callback.early_stopping_threshold == 0.005  # type: ignore[attr-defined]
    no_val = evaluation_plan(t, 40, has_eval=False)
    assert not no_val.callbacks and "no validation split" in no_val.reasons[0]


def test_early_stopping_ends_training_before_the_last_step(tiny_base: str, data_dir: Path,
                                                           tmp_path: Path) -> None:
    from tunesmith.train.sft import train_sft

    # 4 steps per epoch, a checkpoint (and an evaluation) every step; 10 epochs = 40 steps.
    # No fall of the loss is worth 10 nats: patience 1 epoch (4 evaluations) runs out at step 5.
    config = _config(tmp_path, "  epochs: 10\n  early_stopping_patience: 1\n"
                     "  early_stopping_min_delta: 10.0\n  label_smoothing: 0.3\n")
    result = train_sft(config, tiny_base, data_dir, tmp_path / "train")
    m = result.metrics
    assert m["early_stopped"] is True  # trainer.state: fewer steps than the planned 40
    history = [json.loads(line) for line in
               (tmp_path / "train" / "metrics.jsonl").read_text().splitlines()]
    evals = {h["step"]: h["eval_loss"] for h in history if "eval_loss" in h}
    train_steps = max(h["step"] for h in history if "loss" in h)
    assert train_steps == 5 < 40
    assert sorted(evals)[:5] == [1, 2, 3, 4, 5]
    # the checkpoint restored at the end is the one with the lowest validation loss
    best_step = min((evals[s], s) for s in range(1, 6))[1]
    assert m["best_eval_loss"] == pytest.approx(evals[best_step])
    assert m["best_checkpoint"].endswith(f"checkpoint-{best_step}")
    assert any("patience 1 epoch(s) = 4 evaluation(s)" in r for r in result.reasons)
    # what the Trainer ran with (saved beside each checkpoint): the config's keys, applied
    args = torch.load(Path(m["best_checkpoint"]) / "training_args.bin", weights_only=False)
    assert args.label_smoothing_factor == 0.3
    assert args.eval_steps == args.save_steps == 1 and args.load_best_model_at_end


def _trainer(tiny_base: str, data_dir: Path, tmp_path: Path, smoothing: float) -> Any:
    """An SFTTrainer over the tiny model, built the way train_sft builds it, one batch."""
    from datasets import Dataset
    from trl import SFTConfig

    from tunesmith.data.formats.examples import to_examples
    from tunesmith.data.schema import read_records
    from tunesmith.methods import METHODS
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.train.sft import SFTTrainer

    config = _config(tmp_path, "")
    method = METHODS.get("lora")()
    model = method.prepare(load_causal_lm(tiny_base), config.method.options)
    ds = Dataset.from_list(to_examples(read_records(data_dir / "train.jsonl"), config.guard))
    args = SFTConfig(output_dir=str(tmp_path / f"o{smoothing}"), use_cpu=True, report_to="none",
                     per_device_train_batch_size=4, max_length=256, bf16=False,
                     label_smoothing_factor=smoothing, gradient_checkpointing=False)
    return SFTTrainer(model=model, args=args, train_dataset=ds, eval_dataset=ds,
                      processing_class=load_tokenizer(tiny_base), method=method)


def test_label_smoothing_is_transformers_formula_on_training_loss_only(
        tiny_base: str, data_dir: Path, tmp_path: Path) -> None:
    eps = 0.3
    trainer = _trainer(tiny_base, data_dir, tmp_path, eps)
    plain = _trainer(tiny_base, data_dir, tmp_path, 0.0)
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    model = trainer.model
    model.train()
    with torch.no_grad():
        smoothed = float(trainer.compute_loss(model, dict(batch)))
        unsmoothed = float(plain.compute_loss(model, dict(batch)))
        # by hand: (1 - eps) x cross-entropy + eps x the mean over tokens and vocabulary of -log p
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[:, :-1]
        labels = batch["labels"][:, 1:]
        mask = labels != -100
        logp = torch.log_softmax(logits.float(), dim=-1)[mask]
        nll = -logp.gather(-1, labels[mask].unsqueeze(-1)).mean()
        uniform = -logp.mean()
        expected = float((1 - eps) * nll + eps * uniform)
        model.eval()
        eval_smoothed = float(trainer.compute_loss(model, dict(batch)))
    assert unsmoothed == pytest.approx(float(nll), rel=1e-4)
    assert smoothed == pytest.approx(expected, rel=1e-4)
    assert abs(smoothed - unsmoothed) > 1e-3  # it really changes the training loss
    assert eval_smoothed == pytest.approx(unsmoothed, rel=1e-4)  # the validation loss: plain
    assert trainer.label_smoother is not None  # restored after the evaluation call


def test_encoder_workflow_stops_early_too(data_dir: Path, tmp_path: Path) -> None:
    """Extractive QA on a 2-layer BERT (MiniLM's tokenizer): the same schedule and callback."""
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from tunesmith.config import RunConfig
    from tunesmith.data.schema import read_records
    from tunesmith.inference.encoder import encoder_path
    from tunesmith.train.encoder import train_encoder_task

    tokenizer = AutoTokenizer.from_pretrained(encoder_path("all-MiniLM-L6-v2"))
    bert = BertForQuestionAnswering(BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128))
    model_dir = tmp_path / "bert"
    bert.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    config = RunConfig.model_validate({
        "name": "enc", "output_dir": str(tmp_path / "runs"),
        "model": {"name": str(model_dir), "task": "extractive_qa"},
        "data": {"sources": [{"path": str(tmp_path)}]}, "method": {"name": "full"},
        "train": {"epochs": 10, "batch_size": 2, "max_length": 64, "learning_rate": 1e-3,
                  "early_stopping_patience": 1, "early_stopping_min_delta": 10.0},
        "guard": {"extractive": {"doc_stride": 16}},
    })
    records = read_records(data_dir / "train.jsonl")
    out = tmp_path / "train"
    train_encoder_task(config, "extractive_qa", str(model_dir), records, out,
                       val_records=read_records(data_dir / "val.jsonl"))
    history = [json.loads(line) for line in (out / "metrics-extractive_qa.jsonl").read_text()
               .splitlines()]
    evals = [h["step"] for h in history if "eval_loss" in h]
    last = history[-1]
    assert "train_runtime" in last
    # 8 records, one window each: 4 steps per epoch, a checkpoint and an evaluation every step,
    # 10 epochs = 40 steps planned; patience 1 epoch = 4 evaluations: it ends at step 5
    assert evals == [1, 2, 3, 4, 5] and last["step"] == 5
