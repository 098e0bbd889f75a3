"""``data:`` where the documents are and how Q&A records are made from them."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from tunesmith.config.auto import is_auto
from tunesmith.config.base import Section
from tunesmith.config.data_gen import AugmentConfig, GenerateConfig, MixConfig
from tunesmith.config.data_io import (
    CardConfig,
    PIIConfig,
    SizeConfig,
    SourceConfig,
    VersionConfig,
)
from tunesmith.config.data_quality import BalanceConfig, QualityConfig, ReviewConfig


class ChunkConfig(Section):
    """Documents are cut into contexts at paragraph boundaries."""

    max_chars: int = Field(700, ge=50, description="Longest context, in characters.")
    min_chars: int = Field(80, ge=0, description="Shorter paragraphs are merged with the next.")


class SplitConfig(Section):
    """A deterministic split by document: no document lands in two splits."""

    val: float = Field(0.1, ge=0, lt=1, description="Share of documents for validation.")
    test: float = Field(0.1, ge=0, lt=1, description="Share of documents for the test split.")
    by: Literal["document"] = Field("document", description="The split unit.")

    @model_validator(mode="after")
    def _leave_room_for_train(self) -> SplitConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val + test must be < 1, got {self.val} + {self.test}")
        return self


class DataConfig(Section):
    """Where the documents are and how Q&A records are made from them."""

    sources: list[SourceConfig] = Field(default_factory=list, min_length=1)
    max_file_mb: float = Field(
        50, gt=0, description="Files larger than this are skipped with a message."
    )
    pii: PIIConfig = Field(default_factory=PIIConfig)
    card: CardConfig = Field(default_factory=CardConfig)
    version: VersionConfig = Field(default_factory=VersionConfig)
    size: SizeConfig = Field(default_factory=SizeConfig)
    chunk: ChunkConfig = Field(default_factory=ChunkConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    mix: MixConfig = Field(default_factory=MixConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    balance: BalanceConfig = Field(default_factory=BalanceConfig)

    @model_validator(mode="wrap")
    @classmethod
    def _registered_names(cls, data: Any, handler: Any) -> DataConfig:
        """``generate.generator`` names a registered generator and each source's ``kind`` and
        ``kinds`` a registered reader (the nearest one suggested). The registries are looked
        up when a config is validated, as ``method.name``'s is; here, not in the sections,
        because the generators import their section themselves."""
        config: DataConfig = handler(data)
        from tunesmith.data.generate import GENERATORS  # see docs/architecture.md
        from tunesmith.data.sources import READERS  # see docs/architecture.md

        named: list[tuple[str, str, list[str], tuple[str | int, ...]]] = [
            ("generator", config.generate.generator, GENERATORS.names(),
             ("generate", "generator"))]
        for i, source in enumerate(config.sources):
            if not is_auto(source.kind):
                named.append(("reader", source.kind, READERS.names(), ("sources", i, "kind")))
            named += [("reader", kind, READERS.names(), ("sources", i, "kinds", j))
                      for j, kind in enumerate(source.kinds)]
        errors = [_unknown(what, name, known, loc) for what, name, known, loc in named
                  if name not in known]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return config


def _unknown(what: str, name: str, known: list[str], loc: tuple[str | int, ...]
             ) -> InitErrorDetails:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return InitErrorDetails(
        type=PydanticCustomError(f"unknown_{what}", "unknown {what}; {hint}known: {known}",
                                 {"what": what, "hint": hint, "known": ", ".join(known)}),
        loc=loc, input=name)
