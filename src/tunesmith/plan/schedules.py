"""Learning-rate schedules, each with linear warmup: cyclical (the seed's 3e-5 -> 1e-4 -> 5e-6),
cosine, linear and constant, drawn by ``tunesmith lr-find``'s plot (:func:`curve`). Training
does not use them: it takes transformers' scheduler named by ``train.lr_scheduler``.
"""

from __future__ import annotations

import math

SCHEDULES = ("cyclical", "cosine", "linear", "constant")
# seed: "Base LR: 3e-5 -> Peak: 1e-4 -> Final: 5e-6", as ratios of the peak
CYCLICAL_BASE, CYCLICAL_FINAL = 3e-5 / 1e-4, 5e-6 / 1e-4


def lr_factor(kind: str, step: int, total: int, warmup: int) -> float:
    """Multiplier of the peak learning rate at ``step`` (0-based) of ``total``."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule {kind!r}; known: {', '.join(SCHEDULES)}")
    total = max(total, 1)
    if kind == "cyclical":
        # one triangular cycle after warmup to the base rate: base -> peak -> final
        if step < warmup:
            return CYCLICAL_BASE * (step + 1) / warmup
        t = min((step - warmup) / max(total - warmup - 1, 1), 1.0)  # the last step ends at final
        if t < 0.5:
            return CYCLICAL_BASE + (1 - CYCLICAL_BASE) * t / 0.5
        return 1 - (1 - CYCLICAL_FINAL) * (t - 0.5) / 0.5
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    if kind == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if kind == "linear":
        return 1 - progress
    return 1.0


def curve(kind: str, peak: float, total: int, warmup: int) -> list[float]:
    return [peak * lr_factor(kind, s, total, warmup) for s in range(total)]
