"""Shared-context packing: each context is computed once for all the questions asked about it.

A generated Q&A set asks several questions about each context (the quickstart: 483 records on
127 contexts, up to 17 on one). Batched one record per row, a 600-character context of ~200
tokens is run through the model for every one of its questions, although only the last ~30
tokens of each row (question and answer) differ. Here the records of one context share one row:
the common token prefix once, then each record's own tail as a *branch*. A 4-D attention mask
lets a branch token see the prefix and the earlier tokens of its own branch, and no other
branch; its position ids continue from the prefix's end. Each record's loss is therefore exactly
what it is in a row of its own (a test holds the two equal), at a fraction of the tokens.

A batch (one item of the train dataloader) is a *bin* of such rows holding ``batch_size``
records, so an optimizer step sees as many records as without packing. Tokenization follows
TRL's prompt-completion rule (``tokenize_example``; a test compares it with TRL's own dataset
preparation), so the two paths train on the same token sequences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset
from trl.data_utils import common_prefix_length

IGNORE = -100  # the label of a token the loss skips (transformers' and TRL's convention)
MIN_SHARED_TOKENS = 16  # a shorter common prefix is not worth a branch: the records stay apart


@dataclass(frozen=True)
class TokenizedExample:
    """One record's training sequence: ``labels`` is ``input_ids`` with the prompt at -100."""

    input_ids: list[int]
    labels: list[int]

    @property
    def prompt_length(self) -> int:
        """Tokens before the first supervised one."""
        return next((i for i, label in enumerate(self.labels) if label != IGNORE),
                    len(self.labels))


@dataclass(frozen=True)
class SharedRow:
    """The prefix its records share, then one branch per record (none: a row of its own)."""

    prefix_ids: list[int]
    prefix_labels: list[int]
    branches: tuple[TokenizedExample, ...] = ()

    def __len__(self) -> int:
        return len(self.prefix_ids) + sum(len(b.input_ids) for b in self.branches)

    @property
    def records(self) -> int:
        return max(1, len(self.branches))

    @property
    def record_tokens(self) -> int:
        """The tokens its records hold one row each (what an unpacked batch would compute)."""
        if not self.branches:
            return len(self.prefix_ids)
        return sum(len(self.prefix_ids) + len(b.input_ids) for b in self.branches)


def tokenize_example(tokenizer: Any, example: dict[str, Any], max_length: int | None
                     ) -> TokenizedExample | None:
    """A conversational prompt/completion example as TRL's ``SFTTrainer`` tokenizes it.

    The completion starts where the tokenized prompt and prompt + completion diverge
    (``common_prefix_length``), the sequence keeps its first ``max_length`` tokens
    (``truncation_mode="keep_start"``), and an example left with no supervised token is
    dropped (None), as TRL drops it.
    """
    prompt = tokenizer.apply_chat_template(example["prompt"], tokenize=True,
                                           add_generation_prompt=True, return_dict=True)
    full = tokenizer.apply_chat_template(example["prompt"] + example["completion"],
                                         tokenize=True, return_dict=True)
    ids = list(full["input_ids"])
    start = common_prefix_length(list(prompt["input_ids"]), ids)
    labels = [IGNORE] * start + ids[start:]
    if max_length is not None:
        ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels):
        return None
    return TokenizedExample(ids, labels)


def share_prefixes(examples: Sequence[TokenizedExample], keys: Sequence[Hashable],
                   max_branches: int) -> list[SharedRow]:
    """Rows for ``examples``: those with the same key (their context) share their common
    token prefix, at most ``max_branches`` to a row; the others get a row of their own.

    The shared prefix stops at least one token before every branch's first supervised token,
    so the last prefix position predicts no label: a branch's first label is predicted from
    inside its branch, as in its own row.
    """
    groups: dict[Hashable, list[TokenizedExample]] = defaultdict(list)
    for example, key in zip(examples, keys, strict=True):
        groups[key].append(example)
    rows: list[SharedRow] = []
    for members in groups.values():
        for start in range(0, len(members), max_branches):
            rows.append(_row(members[start:start + max_branches]))
    return rows


def _row(members: list[TokenizedExample]) -> SharedRow:
    if len(members) == 1:
        return SharedRow(members[0].input_ids, members[0].labels)
    shared = min(min(m.prompt_length for m in members) - 1,
                 min(common_prefix_length(members[0].input_ids, m.input_ids) for m in members))
    if shared < MIN_SHARED_TOKENS:  # nothing worth sharing (a context truncated away)
        return SharedRow([], [], tuple(members))  # plain block-diagonal packing
    first = members[0]
    branches = tuple(TokenizedExample(m.input_ids[shared:], m.labels[shared:]) for m in members)
    return SharedRow(first.input_ids[:shared], first.labels[:shared], branches)


def fill_bins(rows: Sequence[SharedRow], records_per_bin: int) -> list[list[SharedRow]]:
    """Rows into bins of at most ``records_per_bin`` records (first-fit decreasing), so that
    every batch trains on about as many records as an unpacked batch would."""
    order = sorted(range(len(rows)), key=lambda i: (-rows[i].records, i))
    bins: list[list[SharedRow]] = []
    room: list[int] = []
    for index in order:
        row = rows[index]
        target = next((b for b, free in enumerate(room) if free >= row.records), None)
        if target is None:
            bins.append([])
            room.append(records_per_bin)
            target = len(bins) - 1
        bins[target].append(row)
        room[target] -= row.records
    return bins


class SharedPrefixCollator:
    """Bins of shared rows, or plain tokenized examples (the validation split), into tensors.

    The datasets the Trainer samples hold indices (``{"bin": i}`` or ``{"example": i}``, see
    ``index_dataset``) into the ``bins`` and ``examples`` given here. A bin gives
    ``input_ids``, ``labels``, ``position_ids`` and a boolean 4-D ``attention_mask`` (True: may
    attend), which transformers passes to the attention as it is; plus ``record_tokens`` (what
    the records hold unpacked) and ``computed_tokens`` (what the batch runs, padding aside),
    which the trainer pops before the forward pass. Plain examples give the usual right-padded
    2-D mask.
    """

    def __init__(self, pad_token_id: int, bins: Sequence[Sequence[SharedRow]] = (),
                 examples: Sequence[TokenizedExample] = ()):
        self.pad_token_id = pad_token_id
        self.bins = bins
        self.examples = examples

    def __call__(self, items: list[Any]) -> dict[str, torch.Tensor]:
        if all("example" in item for item in items):
            return self._plain([self.examples[item["example"]] for item in items])
        return self._shared([row for item in items for row in self.bins[item["bin"]]])

    def _plain(self, examples: list[TokenizedExample]) -> dict[str, torch.Tensor]:
        width = max(len(e.input_ids) for e in examples)
        ids = torch.full((len(examples), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for i, example in enumerate(examples):
            n = len(example.input_ids)
            ids[i, :n] = torch.tensor(example.input_ids)
            labels[i, :n] = torch.tensor(example.labels)
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    def _shared(self, rows: list[SharedRow]) -> dict[str, torch.Tensor]:
        width = max(len(row) for row in rows)
        n = len(rows)
        ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((n, width), IGNORE, dtype=torch.long)
        positions = torch.zeros((n, width), dtype=torch.long)
        segment = torch.full((n, width), -1, dtype=torch.long)  # 0: prefix, k: branch k, -1: pad
        for r, row in enumerate(rows):
            p = len(row.prefix_ids)
            ids[r, :p] = torch.tensor(row.prefix_ids, dtype=torch.long)
            labels[r, :p] = torch.tensor(row.prefix_labels, dtype=torch.long)
            positions[r, :p] = torch.arange(p)
            segment[r, :p] = 0
            at = p
            for k, branch in enumerate(row.branches, start=1):
                m = len(branch.input_ids)
                ids[r, at:at + m] = torch.tensor(branch.input_ids, dtype=torch.long)
                labels[r, at:at + m] = torch.tensor(branch.labels, dtype=torch.long)
                positions[r, at:at + m] = torch.arange(p, p + m)
                segment[r, at:at + m] = k
                at += m
        query, key = segment.unsqueeze(2), segment.unsqueeze(1)
        causal = torch.ones((width, width), dtype=torch.bool).tril()
        visible = (key == 0) | (key == query)
        mask = causal & visible & (query >= 0) & (key >= 0)
        # a padding position sees itself only: a row with nothing visible would give NaN
        mask |= torch.eye(width, dtype=torch.bool) & (query < 0)
        record_tokens = sum(row.record_tokens for row in rows)
        return {"input_ids": ids, "labels": labels, "position_ids": positions,
                "attention_mask": mask.unsqueeze(1),
                "record_tokens": torch.tensor(record_tokens, dtype=torch.long),
                "computed_tokens": (segment >= 0).sum()}


def index_dataset(kind: str, n: int) -> Dataset:
    """The dataset the Trainer samples: ``n`` indices under ``kind`` ("bin" or "example");
    the collator holds what they point to (TRL takes a ``datasets.Dataset`` only)."""
    return Dataset.from_dict({kind: list(range(n))})


def is_shared_batch(inputs: dict[str, Any]) -> bool:
    return "record_tokens" in inputs
