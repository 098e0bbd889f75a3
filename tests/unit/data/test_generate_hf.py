"""The ``hf`` generator on a tiny random LLaMA saved to disk: it runs, parses and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config.data_gen import GenerateConfig, HFGenerateConfig
from tunesmith.config.model import TinyModelConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate import generate_questions, make_generator
from tunesmith.data.generate.hf import HFGenerator
from tunesmith.data.generate.prompting import InvalidReply, parse_pairs
from tunesmith.models.tiny import build_llama, train_tokenizer

TEXTS = ["The broker listens on port 7420.", "Version 3.2 was released in March 2024."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-random")
    tokenizer = train_tokenizer(TEXTS * 20, vocab_size=300, model_max_length=512)
    cfg = TinyModelConfig(hidden_size=32, layers=2, heads=2, vocab_size=300,
                          max_position_embeddings=512)
    build_llama(cfg, tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_local_model_runs_and_every_reply_is_validated(model_dir: Path) -> None:
    config = GenerateConfig(generator="hf", per_context=3,
                            hf=HFGenerateConfig(model=str(model_dir), max_new_tokens=12,
                                                batch_size=2))
    generator = make_generator(config)
    contexts = [Context(f"d{i}#0", f"d{i}", 0, t) for i, t in enumerate(TEXTS)]
    out = generate_questions(generator, contexts, limit=3)
    assert isinstance(generator, HFGenerator) and len(out) == 2
    # a random model writes no valid JSON: each context is skipped with the reason, and
    # nothing unverified becomes a record
    for context, records in zip(contexts, out, strict=True):
        for r in records:
            assert r.answer is None or context.text[r.answer_start:].startswith(r.answer)
    skipped = [r for r in generator.rejected if "context skipped" in r.reason]
    assert len(skipped) + sum(1 for rs in out if rs) >= 1
    assert all(r.stage == "generate" and r.reason.startswith("hf:") for r in generator.rejected)


def test_replies_are_parsed_leniently_and_validated_strictly() -> None:
    assert len(parse_pairs('[{"question": "Which port?", "answer": "7420"}]').pairs) == 1
    fenced = 'Here:\n```json\n{"pairs": [{"question": "Who?", "answer": null}]}\n```'
    assert parse_pairs(fenced).pairs[0].answer is None
    with pytest.raises(InvalidReply, match="schema"):
        parse_pairs('{"pairs": [{"answer": "7420"}]}')
    with pytest.raises(InvalidReply, match="no JSON"):
        parse_pairs("I cannot help with that.")


def test_the_prompt_asks_for_the_hf_sections_own_unanswerable_count(model_dir: Path) -> None:
    config = GenerateConfig(generator="hf", per_context=3,
                            hf=HFGenerateConfig(model=str(model_dir), unanswerable_per_context=5))
    generator = make_generator(config)
    assert isinstance(generator, HFGenerator)
    asked: list[str] = []

    def complete(prompts: list[str], texts: list[str]) -> list[str]:
        asked.extend(prompts)
        return ['{"pairs": []}' for _ in prompts]

    generator.model.complete = complete  # type: ignore[method-assign]
    generator.generate(Context("d#0", "d", 0, TEXTS[0]), limit=3)
    assert "Generate 8 QA pairs" in asked[0] and "Include 5 unanswerable" in asked[0]
    assert config.llm.unanswerable_per_context == 2  # the llm section's stays its own
