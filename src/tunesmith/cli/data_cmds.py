"""``tunesmith data ...``: import, export, check, card, version, size, review."""

from __future__ import annotations
