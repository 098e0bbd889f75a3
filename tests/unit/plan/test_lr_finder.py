"""The range test on a loss whose divergence point is known; the schedules' shapes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tunesmith.plan.lr_finder import lr_range_test, plot
from tunesmith.plan.schedules import curve, lr_factor


def test_range_test_finds_the_spike_and_suggests_half() -> None:
    # a loss that falls with the rate until 1e-3, then explodes (the seed's "typically 1e-3")
    def step(lr: float) -> float:
        return 2.0 - 0.3 * math.log10(lr / 1e-7) if lr < 1e-3 else 2.0 * (lr / 1e-3) ** 3 * 10

    result = lr_range_test(step, 1e-7, 1.0, steps=100, smoothing=0.0)
    assert result.divergence_lr is not None
    assert 1e-3 <= result.divergence_lr < 2e-3
    assert result.suggested_lr == pytest.approx(result.divergence_lr / 2)
    assert result.steepest_lr is not None and result.steepest_lr < 1e-3
    assert len(result.lrs) < 100  # stopped at the divergence


def test_steepest_descent_ignores_the_unsettled_start() -> None:
    # batch noise on a flat start, then a steep fall from 1e-4 to 1e-2, then divergence
    def step(lr: float) -> float:
        step.calls += 1  # type: ignore[attr-defined]
        if lr < 1e-4:
            return 10.0 + (1.5 if step.calls % 2 else -1.5)  # type: ignore[attr-defined]
        return 10.0 - 3.0 * math.log10(lr / 1e-4) if lr < 1e-2 else 4.0 * (lr / 1e-2) ** 2

    step.calls = 0  # type: ignore[attr-defined]
    result = lr_range_test(step, 1e-7, 1.0, steps=100, smoothing=0.9)
    assert result.steepest_lr is not None and 1e-4 <= result.steepest_lr < 1e-2


def test_no_divergence_falls_back_to_the_lowest_loss(tmp_path: Path) -> None:
    result = lr_range_test(lambda lr: 1.0 / (1 + lr), 1e-6, 1e-2, steps=20)
    assert result.divergence_lr is None and result.suggested_lr is not None
    plot(result, tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000


def test_schedules_warm_up_and_follow_the_seed_cycle() -> None:
    assert lr_factor("constant", 0, 100, 10) == pytest.approx(0.1)
    assert lr_factor("cosine", 100, 100, 10) == pytest.approx(0.0, abs=1e-9)
    assert lr_factor("linear", 55, 100, 10) == pytest.approx(0.5)
    cyc = curve("cyclical", 1e-4, 110, 10)
    assert cyc[9] == pytest.approx(3e-5)  # seed: base 3e-5
    assert max(cyc) == pytest.approx(1e-4, rel=0.02)  # peak 1e-4
    assert cyc[-1] == pytest.approx(5e-6, rel=0.2)  # final 5e-6
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_factor("step", 0, 10, 1)
