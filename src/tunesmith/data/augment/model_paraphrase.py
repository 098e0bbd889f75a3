"""Paraphrases asked of a model: the ``llm`` or ``hf`` backend of the generate section.

The prompt and the reply's parser are the generators' own
(:mod:`tunesmith.data.generate.prompting`); :func:`.paraphrase.paraphrase_records` checks what
comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.augment.base import Paraphraser
from tunesmith.data.generate.hf import LocalModel
from tunesmith.data.generate.llm import ChatClient
from tunesmith.data.generate.prompting import PARAPHRASE_PROMPT, InvalidReply, parse_paraphrases
from tunesmith.data.schema import QARecord


def model_paraphraser(
    backend: str, generate: GenerateConfig, cache_dir: Path | None, seed: int
) -> Paraphraser:
    """Paraphrases through the ``llm`` or ``hf`` backend: one prompt per question."""
    if backend == "llm":
        client = ChatClient(generate.llm, cache_dir)

        def by_llm(records: Sequence[QARecord], n: int) -> list[list[str]]:
            prompts = [PARAPHRASE_PROMPT.format(n=n, question=r.question) for r in records]
            replies = client.complete_many(prompts, parse_paraphrases)
            return [reply if isinstance(reply, list) else [] for reply in replies]

        return by_llm
    model = LocalModel(generate.hf, seed)

    def by_hf(records: Sequence[QARecord], n: int) -> list[list[str]]:
        prompts = [PARAPHRASE_PROMPT.format(n=n, question=r.question) for r in records]
        texts = model.complete(prompts, [r.question for r in records])
        out: list[list[str]] = []
        for text in texts:
            try:
                out.append(parse_paraphrases(text))
            except InvalidReply:
                out.append([])
        return out

    return by_hf
