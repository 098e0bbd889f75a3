"""Augmenters: new training records made from existing ones (training split only).

:func:`augment_records` runs every augmenter the ``data.augment`` section turns on: answer
swapping (swap.py), paraphrase (paraphrase.py), entity swapping (entity_swap.py) and context
distortion (distort.py). Only training records are augmented: validation and test stay as
written, so no augmented copy of a training question can leak into them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

from tunesmith.config.data_gen import AugmentConfig, GenerateConfig
from tunesmith.data.augment.distort import (
    contradict,
    mix_documents,
    remove_answer,
    remove_sentences,
)
from tunesmith.data.augment.entity_swap import swap_entities
from tunesmith.data.augment.model_paraphrase import model_paraphraser
from tunesmith.data.augment.paraphrase import paraphrase_records
from tunesmith.data.augment.swap import swap_answers
from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord, Rejection

__all__ = ["augment_records", "swap_answers"]

Progress = Callable[[str], None]


def augment_records(
    train_records: Sequence[QARecord],
    config: AugmentConfig,
    seed: int,
    contexts: Sequence[Context] = (),
    generate: GenerateConfig | None = None,
    cache_dir: Path | None = None,
    on_step: Progress | None = None,
) -> tuple[list[QARecord], list[Rejection]]:
    """New training records (the originals not included) and the rejected attempts.

    ``contexts`` are the training split's contexts (donors for cross-document mixing and the
    entity inventory for entity swapping).
    """
    step = on_step or (lambda _: None)
    answerable = [r for r in train_records
                  if r.kind == "answerable" and r.answer is not None and len(r.contexts) == 1]
    made: list[QARecord] = []
    rejected: list[Rejection] = []
    if config.swap:
        step(f"swapping answers ({config.swap} per training record)")
        made += swap_answers(answerable, config.swap, seed)
    if config.paraphrase:
        step(f"paraphrasing questions ({config.paraphrase_backend}, {config.paraphrase} each)")
        paraphraser = None
        if config.paraphrase_backend != "template":
            paraphraser = model_paraphraser(config.paraphrase_backend,
                                             generate or GenerateConfig(), cache_dir, seed)
        new, dropped = paraphrase_records(answerable, config.paraphrase, seed + 1, paraphraser)
        made += new
        rejected += dropped
    if config.entity_swap:
        step(f"swapping entities ({config.entity_swap} per training record)")
        texts = [c.text for c in contexts] or [r.contexts[0] for r in answerable]
        new, dropped = swap_entities(answerable, config.entity_swap, seed + 2, texts)
        made += new
        rejected += dropped
    rng = random.Random(seed + 3)
    answers = [r.answer for r in answerable if r.answer]
    low, high = config.remove_range
    distortions = [
        (f"removing {low:.0%}-{high:.0%} of context sentences", config.remove_sentences,
         lambda r: remove_sentences(r, rng, low, high)),
        ("removing the answer's sentence", config.remove_answer, remove_answer),
        ("inserting contradicting statements", config.contradict,
         lambda r: contradict(r, rng, answers)),
        ("mixing in sentences of other documents", config.mix_documents,
         lambda r: mix_documents(r, rng, contexts)),
    ]
    for label, share, distort in distortions:
        if share <= 0:
            continue
        step(f"{label} ({share:.0%} of training records)")
        chosen = rng.sample(answerable, round(share * len(answerable)))
        for record in chosen:
            variant = distort(record)
            if variant is not None:
                made.append(variant)
    return made, rejected
