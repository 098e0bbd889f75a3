"""The interface every question generator implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tunesmith.data.chunk import Context
from tunesmith.data.schema import QARecord
from tunesmith.registry import Registry


class QuestionGenerator(Protocol):
    """Writes answerable questions for a context, each with a verified answer span."""

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]: ...


GENERATORS: Registry[type[QuestionGenerator]] = Registry("generator")
