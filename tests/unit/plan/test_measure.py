"""Predicted against measured on a small model: the estimate within 15% of the measurement."""

from __future__ import annotations

import pytest

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.measure import MeasureSpec, compare


@pytest.mark.slow
def test_lora_peak_memory_matches_measurement() -> None:
    shape = ModelShape(name="m", hidden=128, layers=2, heads=4, kv_heads=4, intermediate=352,
                       vocab=4000)
    spec = MeasureSpec(shape=shape.to_dict(), method="lora", options={"dropout": 0.0},
                       batch_size=2, seq_len=256, steps=1)
    row = compare(spec, shape)
    assert row["measured_peak_gib"] > 0
    assert abs(row["peak_error"]) < 0.15, row
    assert row["measured_step_s"] > 0 and "resident" in row["memory_method"]
