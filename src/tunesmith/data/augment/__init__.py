"""Augmenters: new training records made from existing ones."""

from tunesmith.data.augment.swap import swap_answers

__all__ = ["swap_answers"]
