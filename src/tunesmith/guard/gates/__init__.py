"""The gates: each turns one signal about an answer into "answer" or "abstain".

Every gate is one module of this package, registered by name in :data:`GATES` with its seed
default threshold, the direction in which it fires, the tasks it applies to and its place in the
default order; importing the package imports every module (a new gate is one module:
docs/extending.md). A gate whose signal is missing (no rejection head trained, no token
probabilities from an extractive model) does not fire and says why. The guard abstains when any
gate fires. Thresholds come from, in order: ``guard.thresholds`` in the config,
``runs/<name>/guard/thresholds.json`` (``tunesmith calibrate``), the seed default.
"""

import importlib
import pkgutil

from tunesmith.guard.gates.base import (
    GATES,
    Direction,
    Gate,
    Signals,
    is_complex,
    question_words,
    register_gate,
)
from tunesmith.guard.gates.min_tokens import INSUFFICIENT_CONTEXT, MIN_TOKENS
from tunesmith.guard.gates.similarity import SIMILARITY

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["GATES", "INSUFFICIENT_CONTEXT", "MIN_TOKENS", "SIMILARITY", "Direction", "Gate",
           "Signals", "is_complex", "question_words", "register_gate"]
