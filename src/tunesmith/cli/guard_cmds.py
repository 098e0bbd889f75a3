"""``tunesmith answer | calibrate``: answer only with sufficient context."""

from __future__ import annotations
