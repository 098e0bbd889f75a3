"""bitsandbytes' AVX512-BF16 CPU path cannot repack 4-bit layers of every shape.

On a CPU with AVX512-BF16 (``bitsandbytes.functional.has_avx512bf16()``; recent Xeons), a
``Linear4bit`` whose ``support_avx512bf16_for_cpu`` is set repacks its weight for a faster kernel
at its first inference forward (eval mode, no grad). The repacking (bitsandbytes 0.50.2,
``_convert_weight_packed_for_cpu``) reshapes the weight to blocks of 32 output rows and the
absmax to ``[out_features, in_features // blocksize]``, so a layer whose ``out_features`` is not
a multiple of 32 or whose ``in_features`` is not a multiple of the quantisation blocksize (64)
fails: a hidden size of 32 gives ``RuntimeError: shape '[32, 0]' is invalid for input of size
16``. Real models (widths of multiples of 64) are unaffected; small ``tiny`` models are not, and
the same code passes on a CPU without AVX512-BF16, whatever the transformers version.

``fit_cpu_packing`` turns that path off for the layers it cannot handle, which then run the
generic 4-bit matmul (the one training uses); the other layers keep the fast path. It applies
only where the installed bitsandbytes has the path (the attribute exists), and changes nothing
on other versions or without bitsandbytes.
"""

from __future__ import annotations

from typing import Any

# bitsandbytes' block of output rows in the CPU repacking (block_n)
PACK_BLOCK_N = 32


def packable_for_cpu(shape: Any, blocksize: int) -> bool:
    """Whether bitsandbytes' CPU repacking can take a 4-bit weight of ``shape`` [N, K]."""
    if shape is None or len(shape) != 2 or not blocksize:
        return False
    n, k = int(shape[0]), int(shape[1])
    return n % PACK_BLOCK_N == 0 and k % blocksize == 0 and k % 2 == 0


def fit_cpu_packing(model: Any) -> list[str]:
    """Turn bitsandbytes' CPU repacking off for the 4-bit layers it cannot repack.

    Returns the names of those layers (empty where nothing needed it). Call it on a model
    loaded with a 4-bit ``BitsAndBytesConfig`` before its first forward in eval mode.
    """
    changed: list[str] = []
    for name, module in model.named_modules():
        if not getattr(module, "support_avx512bf16_for_cpu", False):
            continue  # no such path in this bitsandbytes, no AVX512-BF16, or already off
        weight = getattr(module, "weight", None)
        state = getattr(weight, "quant_state", None)
        if state is None or getattr(state, "packing_format_for_cpu", False):
            continue  # not quantised yet (then shapes are unknown), or already repacked
        if not packable_for_cpu(getattr(state, "shape", None), getattr(state, "blocksize", 0)):
            module.support_avx512bf16_for_cpu = False
            changed.append(name)
    return changed
