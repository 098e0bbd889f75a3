"""Augmenters: new training records made from existing ones (training split only).

:func:`augment_records` runs every augmenter the ``data.augment`` section turns on: answer
swapping (swap.py), paraphrase (paraphrase.py), entity swapping (entity_swap.py) and context
distortion (distort.py). Only training records are augmented: validation and test stay as
written, so no augmented copy of a training question can leak into them.

Each augmenter registers itself in :data:`AUGMENTERS` (``base.py``) with the order it runs in;
importing this package imports every module in it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path

from tunesmith.config.data_gen import AugmentConfig, GenerateConfig
from tunesmith.data.augment.base import AUGMENTERS, AugmentContext, Progress
from tunesmith.data.augment.swap import swap_answers
from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord, Rejection

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["AUGMENTERS", "augment_records", "swap_answers"]


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
    entity inventory for entity swapping). Every registered augmenter runs, in its order; each
    one does nothing unless the ``data.augment`` section turns it on.
    """
    answerable = [r for r in train_records
                  if r.kind == "answerable" and r.answer is not None and len(r.contexts) == 1]
    ctx = AugmentContext(answerable, config, seed, contexts, generate, cache_dir,
                         on_step or (lambda _: None))
    made: list[QARecord] = []
    rejected: list[Rejection] = []
    for augmenter in sorted((AUGMENTERS.get(n) for n in AUGMENTERS.names()),
                            key=lambda a: a.order):
        new, dropped = augmenter.run(ctx)
        made += new
        rejected += dropped
    return made, rejected
