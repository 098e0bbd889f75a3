"""``plan:`` hyperparameter planning and estimates (filled in by the planner)."""

from __future__ import annotations

from tunesmith.config.base import Section


class PlanConfig(Section):
    """No keys yet: the planner issue adds them. Any key given here is an error."""
