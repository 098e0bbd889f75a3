"""Measure methods against each other: ``tunesmith compare CONFIG --methods a,b,c|all``."""

from tunesmith.compare.run import DEFAULT_MAX_STEPS, Comparison, compare_methods, resolve_methods

__all__ = ["DEFAULT_MAX_STEPS", "Comparison", "compare_methods", "resolve_methods"]
