"""Question generators, registered by name in :data:`GENERATORS`.

``rules`` (spaCy parse + sentence patterns, offline), ``cloze`` (``rules`` plus a noisy-cloze
question for every other entity and noun phrase), ``patterns`` (regex only, no model),
``llm`` (an OpenAI-compatible chat endpoint) and ``hf`` (a local transformers model). The
phrase helpers ``rules`` and ``cloze`` share are in ``phrases``.

Importing this package imports every module in it, which registers its generators: a new
generator is one module with ``@GENERATORS.register("name")`` (docs/extending.md).
"""

import importlib
import pkgutil

from tunesmith.data.generate.base import (
    GENERATORS,
    QuestionGenerator,
    generate_questions,
    make_generator,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["GENERATORS", "QuestionGenerator", "generate_questions", "make_generator"]
