"""bitsandbytes' AVX512-BF16 CPU repacking and the layers it cannot take (compat.bitsandbytes).

The failing reshape happens before any AVX512 kernel runs, so forcing the path on reproduces the
error on every CPU; with ``fit_cpu_packing`` the layer runs the generic matmul instead.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunesmith.compat.bitsandbytes import fit_cpu_packing, packable_for_cpu

bnb = pytest.importorskip("bitsandbytes")


def _linear4bit(in_features: int, out_features: int) -> nn.Module:
    torch.manual_seed(0)
    layer = bnb.nn.Linear4bit(in_features, out_features, bias=False,
                              compute_dtype=torch.float32, quant_type="nf4")
    layer.weight = bnb.nn.Params4bit(torch.randn(out_features, in_features),
                                     requires_grad=False, quant_type="nf4")
    layer = layer.to("cpu")  # quantises
    if getattr(layer.weight, "quant_state", None) is None:
        pytest.skip("this bitsandbytes does not quantise on CPU")
    if not hasattr(layer, "support_avx512bf16_for_cpu"):
        pytest.skip("this bitsandbytes has no AVX512-BF16 CPU path")
    layer.support_avx512bf16_for_cpu = True  # as on a CPU with AVX512-BF16
    return layer.eval()


def _infer(model: nn.Module, in_features: int) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.randn(2, in_features))


def test_shapes_the_cpu_repacking_takes() -> None:
    assert packable_for_cpu((64, 64), 64)
    assert packable_for_cpu((128, 576), 64)
    assert not packable_for_cpu((32, 32), 64)  # in_features below the blocksize
    assert not packable_for_cpu((48, 64), 64)  # out_features not a multiple of 32
    assert not packable_for_cpu(None, 64)


def test_a_narrow_4bit_layer_fails_without_the_shim_and_runs_with_it() -> None:
    layer = _linear4bit(32, 32)
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        _infer(layer, 32)

    layer = _linear4bit(32, 32)
    model = nn.Sequential(layer)
    assert fit_cpu_packing(model) == ["0"]
    assert layer.support_avx512bf16_for_cpu is False
    out = _infer(model, 32)
    assert out.shape == (2, 32) and torch.isfinite(out).all()


def test_layers_the_repacking_takes_keep_the_fast_path() -> None:
    wide = _linear4bit(64, 64)
    assert fit_cpu_packing(nn.Sequential(wide)) == []
    assert wide.support_avx512bf16_for_cpu is True


def test_models_without_4bit_layers_are_left_alone() -> None:
    model = nn.Sequential(nn.Linear(32, 32))
    assert fit_cpu_packing(model) == []
