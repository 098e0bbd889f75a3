"""Question generators, registered by name in :data:`GENERATORS`.

``rules`` (spaCy parse + sentence patterns, offline), ``cloze`` (``rules`` plus a noisy-cloze
question for every other entity and noun phrase), ``patterns`` (regex only, no model),
``llm`` (an OpenAI-compatible chat endpoint) and ``hf`` (a local transformers model). The
phrase helpers ``rules`` and ``cloze`` share are in ``phrases``.
"""

from tunesmith.data.generate import cloze, hf, llm, patterns, rules
from tunesmith.data.generate.base import (
    GENERATORS,
    QuestionGenerator,
    generate_questions,
    make_generator,
)

__all__ = ["GENERATORS", "QuestionGenerator", "cloze", "generate_questions", "hf", "llm",
           "make_generator", "patterns", "rules"]
