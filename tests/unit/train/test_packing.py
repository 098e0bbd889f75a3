"""Shared-context packing: the loss and gradients of each record are those of its own row."""

from __future__ import annotations

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from trl import SFTConfig, SFTTrainer

from tunesmith.config import GuardConfig
from tunesmith.data.formats.examples import to_examples
from tunesmith.data.schema import QARecord
from tunesmith.models.loading import load_tokenizer
from tunesmith.train.losses import supervised_loss
from tunesmith.train.packing import (
    IGNORE,
    MIN_SHARED_TOKENS,
    SharedPrefixCollator,
    SharedRow,
    TokenizedExample,
    fill_bins,
    share_prefixes,
    tokenize_example,
)

PARIS = "The Eiffel Tower is in Paris. It was completed in 1889 and was tallest until 1930."
AMAZON = "The Amazon river carries more water than any other river on Earth."


def _records() -> list[QARecord]:
    def rec(i: int, context: str, question: str, answer: str | None) -> QARecord:
        start = context.find(answer) if answer else None
        return QARecord(id=f"q{i}", question=question, contexts=[context], answer=answer,
                        answer_start=start,
                        kind="answerable" if answer else "unanswerable")
    return [
        rec(0, PARIS, "Where is the tower?", "Paris"),
        rec(1, PARIS, "When was it completed?", "1889"),
        rec(2, AMAZON, "What carries the most water?", "The Amazon river"),
        rec(3, PARIS, "Who designed it?", None),
        rec(4, PARIS, "Until when was it the tallest?", "1930"),
    ]


def _tokenized(tokenizer, records: list[QARecord]) -> list[TokenizedExample]:
    out = [tokenize_example(tokenizer, e, 512) for e in to_examples(records, GuardConfig())]
    assert all(e is not None for e in out)
    return out  # type: ignore[return-value]


def test_shared_rows_give_the_same_loss_and_gradients(tiny_lm: str) -> None:
    tokenizer = load_tokenizer(tiny_lm)
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_lm),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj", "down_proj"],
                                      init_lora_weights=False))
    records = _records()
    examples = _tokenized(tokenizer, records)
    supervised = sum(sum(label != IGNORE for label in e.labels) for e in examples)

    plain = SharedPrefixCollator(tokenizer.pad_token_id, examples=examples)(
        [{"example": i} for i in range(len(examples))])
    reference = supervised_loss(model, plain, num_items_in_batch=supervised).loss
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()

    rows = share_prefixes(examples, [r.context for r in records], max_branches=8)
    assert sorted(row.records for row in rows) == [1, 4]  # four on Paris, one on the Amazon
    bins = fill_bins(rows, 8)
    batch = SharedPrefixCollator(tokenizer.pad_token_id, bins)([{"bin": 0}])
    assert int(batch.pop("record_tokens")) == sum(len(e.input_ids) for e in examples)
    computed = int(batch.pop("computed_tokens"))
    assert computed < sum(len(e.input_ids) for e in examples)  # the context counted once
    packed = supervised_loss(model, batch, num_items_in_batch=supervised).loss
    packed.backward()
    assert torch.allclose(packed, reference, atol=1e-5), (packed, reference)
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert torch.allclose(param.grad, expected[name], atol=1e-5), name


def test_tokenization_matches_trl(tiny_lm: str, tmp_path) -> None:
    tokenizer = load_tokenizer(tiny_lm)
    records = _records()
    examples = to_examples(records, GuardConfig())
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_lm),
        args=SFTConfig(output_dir=str(tmp_path), max_length=40, report_to="none",
                       use_cpu=True, bf16=False, gradient_checkpointing=False),
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
    )
    theirs = [(list(row["input_ids"]), list(row["labels"])) for row in trainer.train_dataset]
    ours = [tokenize_example(tokenizer, e, 40) for e in examples]
    assert theirs == [(e.input_ids, e.labels) for e in ours if e is not None]
    assert any(e is None for e in ours) or len(theirs) == len(ours)


def test_the_prefix_stops_before_every_answer() -> None:
    prompt = list(range(1, 41))
    a = TokenizedExample(prompt + [50, 51], [IGNORE] * 40 + [50, 51])
    b = TokenizedExample(prompt + [52], [IGNORE] * 40 + [52])  # the same prompt, another answer
    (row,) = share_prefixes([a, b], ["ctx", "ctx"], max_branches=4)
    assert len(row.prefix_ids) == 39 and all(label == IGNORE for label in row.prefix_labels)
    assert [br.labels[0] for br in row.branches] == [IGNORE, IGNORE]  # each starts on a prompt
    # too little in common: the records are packed side by side, each from position 0
    c = TokenizedExample([1, 2, 99] + prompt + [7], [IGNORE] * 43 + [7])
    d = TokenizedExample([1, 2, 98, 5], [IGNORE, IGNORE, IGNORE, 5])
    (apart,) = share_prefixes([c, d], ["x", "x"], max_branches=4)
    assert apart.prefix_ids == [] and len(apart.branches) == 2
    assert MIN_SHARED_TOKENS > 2


def test_rows_split_at_max_branches_and_bins_hold_batch_size_records() -> None:
    ex = TokenizedExample(list(range(1, 30)) + [60], [IGNORE] * 29 + [60])
    rows = share_prefixes([ex] * 11 + [ex], ["a"] * 11 + ["b"], max_branches=4)
    assert sorted(row.records for row in rows) == [1, 3, 4, 4]
    bins = fill_bins(rows, 4)
    assert sorted(sum(r.records for r in b) for b in bins) == [4, 4, 4]
    assert sum(len(b) for b in bins) == len(rows)


def test_the_mask_keeps_branches_apart_and_padding_to_itself() -> None:
    row = SharedRow([1, 2], [IGNORE, IGNORE], (TokenizedExample([3, 4], [IGNORE, 4]),
                                               TokenizedExample([5], [5])))
    alone = SharedRow([7, 8, 9], [IGNORE, IGNORE, 9])
    batch = SharedPrefixCollator(0, [[row, alone]])([{"bin": 0}])
    mask = batch["attention_mask"][:, 0]
    assert batch["position_ids"][0].tolist() == [0, 1, 2, 3, 2]
    assert mask[0, 4].tolist() == [True, True, False, False, True]  # the second branch
    assert mask[0, 3].tolist() == [True, True, True, True, False]
    assert mask[1, 3].tolist() == [False, False, False, True, False]  # padding: itself only
    assert batch["labels"][1].tolist() == [IGNORE, IGNORE, 9, IGNORE, IGNORE]
