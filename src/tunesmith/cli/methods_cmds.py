"""``tunesmith compare``: the same budget for each fine-tuning method, measured."""

from __future__ import annotations
