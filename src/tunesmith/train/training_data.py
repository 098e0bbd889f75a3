"""What the Trainer trains on: one record per row, or the records of one context sharing a row
(``train.shared_context``, :mod:`tunesmith.train.packing`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasets import Dataset

from tunesmith.config import RunConfig
from tunesmith.config.auto import resolved
from tunesmith.data.formats.examples import to_examples
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError
from tunesmith.train.hardware import HardwareChoice
from tunesmith.train.losses import ExtraLoss, needs_outputs
from tunesmith.train.packing import (
    SharedPrefixCollator,
    TokenizedExample,
    fill_bins,
    index_dataset,
    share_prefixes,
    tokenize_example,
)


@dataclass
class TrainingData:
    """What the Trainer trains and scores on, and how many records-per-batch units it holds."""

    train: Any
    eval: Any
    n_units: int  # planned steps = n_units / (batch_size x accumulation), as with records
    collator: Any = None  # None: TRL's own
    trainer_kwargs: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def shared_context_applies(config: RunConfig, hardware: HardwareChoice,
                           extra_losses: list[ExtraLoss] | None) -> tuple[bool, str]:
    """Whether records of one context share a row (``train.shared_context``), and why.

    Shared rows need the loss that takes the LM head at supervised positions only (on the
    CPU, ``SFTTrainer._head_at_supervised_positions``): TRL's own loss reads every position.
    """
    t = config.train
    if t.shared_context is False:
        return False, "shared context off: set in the config"
    blockers = [why for why, blocked in (
        ("the GPU takes TRL's loss (fused LM head)", hardware.device != "cpu"),
        ("label smoothing reads every position's logits",
         resolved(t.label_smoothing, "train.label_smoothing") > 0),
        ("an extra loss reads the model's outputs",
         any(needs_outputs(term) for term in extra_losses or [])),
    ) if blocked]
    if blockers and t.shared_context is True:
        raise TunesmithError(f"train.shared_context: true cannot apply: {blockers[0]}; set it "
                             "to auto or false")
    if blockers:
        return False, f"shared context off: {blockers[0]}"
    return True, ("shared context on: each context computed once for its records "
                  "(train.shared_context)")


def plain_data(train_records: list[QARecord], val_records: list[QARecord],
                config: RunConfig) -> TrainingData:
    train = Dataset.from_list(to_examples(train_records, config.guard))
    val = Dataset.from_list(to_examples(val_records, config.guard)) if val_records else None
    return TrainingData(train, val, len(train))


def shared_data(tokenizer: Any, train_records: list[QARecord], val_records: list[QARecord],
                 config: RunConfig) -> TrainingData:
    """Bins of shared-context rows, ``batch_size`` records each; the validation split stays
    one record per row (its loss is scored as the plain path scores it)."""
    t = config.train
    batch_size = resolved(t.batch_size, "train.batch_size")
    kept: list[tuple[QARecord, TokenizedExample]] = []
    for record, example in zip(train_records, to_examples(train_records, config.guard),
                               strict=True):
        tokenized = tokenize_example(tokenizer, example, t.max_length)
        if tokenized is not None:  # TRL drops a record whose answer max_length cuts off
            kept.append((record, tokenized))
    if not kept:
        raise TunesmithError(f"train.max_length {t.max_length}: every training record's answer "
                             "is cut off; raise it")
    rows = share_prefixes([example for _, example in kept],
                          [record.context for record, _ in kept], max_branches=batch_size)
    bins = fill_bins(rows, batch_size)
    val = [e for e in (tokenize_example(tokenizer, x, t.max_length)
                       for x in to_examples(val_records, config.guard)) if e is not None]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    record_tokens = sum(row.record_tokens for row in rows)
    computed = sum(len(row) for row in rows)
    why = (f"shared context: {len(kept)} records in {len(rows)} rows and {len(bins)} batches; "
           f"{computed:,} tokens to compute instead of {record_tokens:,}")
    return TrainingData(
        index_dataset("bin", len(bins)), index_dataset("example", len(val)) if val else None,
        len(bins) * batch_size, SharedPrefixCollator(pad, bins, val),
        # one bin is one batch; TRL neither re-tokenizes nor drops the bins' columns
        {"per_device_train_batch_size": 1, "remove_unused_columns": False,
         "dataset_kwargs": {"skip_prepare_dataset": True}},
        [why])
