"""Question generators, registered by name in :data:`GENERATORS`."""

from tunesmith.data.generate.base import GENERATORS, QuestionGenerator
from tunesmith.data.generate.rules import RuleGenerator

__all__ = ["GENERATORS", "QuestionGenerator", "RuleGenerator"]
