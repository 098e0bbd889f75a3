"""``tunesmith plan | estimate | lr-find | search``: hyperparameters, memory, time, cost."""

from __future__ import annotations
