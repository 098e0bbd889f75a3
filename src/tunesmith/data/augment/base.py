"""What every augmenter shares: the context it runs in and the registry.

An augmenter is a function registered once with :func:`register_augmenter` under the name of its
``data.augment`` key; it reads its own settings from ``ctx.config``, makes new training records
from ``ctx.answerable`` and returns them with the rejected attempts. Augmenters run in their
``order``: each one's seed is fixed from the build's seed, and the distortions share one random
stream (``ctx.rng``), so the order is part of what makes a build reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tunesmith.config.data_gen import AugmentConfig, GenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.registry import Registry

Progress = Callable[[str], None]
Augmented = tuple[list[QARecord], list[Rejection]]
# paraphrases of each question, asked of a model: (records, n) -> n texts per record
Paraphraser = Callable[[Sequence[QARecord], int], list[list[str]]]


@dataclass
class AugmentContext:
    """What an augmenter is given: the training split's answerable single-context records,
    the ``data.augment`` section, the build's seed, the training contexts (donors for mixing,
    the entity inventory), the generate section (model paraphrases) and a progress line."""

    answerable: list[QARecord]
    config: AugmentConfig
    seed: int
    contexts: Sequence[Context] = ()
    generate: GenerateConfig | None = None
    cache_dir: Path | None = None
    step: Progress = lambda _: None  # noqa: E731
    rng: random.Random = field(init=False)  # the distortions' shared stream

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed + 3)

    @property
    def answers(self) -> list[str]:
        return [r.answer for r in self.answerable if r.answer]


@dataclass(frozen=True)
class Augmenter:
    name: str
    order: int  # lower runs first
    run: Callable[[AugmentContext], Augmented]


AUGMENTERS = Registry[Augmenter]("augmenter")


def register_augmenter(name: str, order: int
                       ) -> Callable[[Callable[[AugmentContext], Augmented]],
                                     Callable[[AugmentContext], Augmented]]:
    """``@register_augmenter("swap", order=10)`` above ``def augment(ctx) -> (made, rejected)``."""
    def add(run: Callable[[AugmentContext], Augmented]) -> Callable[[AugmentContext], Augmented]:
        AUGMENTERS.register(name)(Augmenter(name, order, run))
        return run

    return add
