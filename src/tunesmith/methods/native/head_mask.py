"""``head_mask``: attention-head selective tuning: only chosen attention heads change.

The seed lists "Attention Head Masking" among the selective methods. Michel, Levy & Neubig
(2019, "Are Sixteen Heads Really Better than One?") show that heads differ greatly in
importance and can be masked individually; here the mask selects which heads *train*:

- ``mode: train``: a trainable update for the chosen heads only: the rows of the query, key and
  value projections that compute those heads (for grouped-query attention, the key/value head
  each chosen query head reads) and the columns of the output projection that read them.
  The update is zero-initialised, so training starts from the base model.
- ``mode: gate``: one trainable scale per chosen head on its slice of the output projection
  (initialised to 1): a learned soft head mask in Michel et al.'s sense; 0 removes the head.

Both are updates of the projection weights, so they merge into them exactly.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._common import (
    NativeMethod,
    WeightDelta,
    add_delta,
    architecture,
    register,
)


class HeadMaskOptions(Section):
    """Which heads train, and how."""

    heads: list[int] = Field(
        default_factory=lambda: [0],
        description="Indices of the (query) attention heads to train, in every chosen layer.",
    )
    layers: list[int] | None = Field(
        None, description="Indices of the layers whose heads train; null: every layer."
    )
    mode: Literal["train", "gate"] = Field(
        "train",
        description="train: an update of the chosen heads' q/k/v rows and o columns; gate: one "
        "trainable scale per chosen head on its output (a learned head mask).",
    )


class RowDelta(WeightDelta):
    """A trainable update of some rows (dim 0) or columns (dim 1) of a weight."""

    index: torch.Tensor

    def __init__(self, index: torch.Tensor, other: int, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer("index", index)
        shape = (len(index), other) if dim == 0 else (other, len(index))
        self.update = nn.Parameter(torch.zeros(shape))

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        zeros = self.update.new_zeros(weight.shape)
        return zeros.index_add(self.dim, self.index, self.update)


class ColumnGate(WeightDelta):
    """``W[:, head columns] *= g_head``, written as an update ``W ⊙ (g - 1)`` on those columns."""

    heads: torch.Tensor

    def __init__(self, heads: list[int], head_dim: int):
        super().__init__()
        self.head_dim = head_dim
        self.register_buffer("heads", torch.tensor(heads))
        self.gate = nn.Parameter(torch.ones(len(heads)))

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        offsets = torch.arange(self.head_dim, device=self.heads.device)
        columns = (self.heads[:, None] * self.head_dim + offsets).flatten()
        scale = self.gate.new_zeros(weight.shape[1])
        scale = scale.index_add(0, columns, self.gate.repeat_interleave(self.head_dim) - 1)
        return weight.float() * scale


def _rows(heads: list[int], head_dim: int) -> torch.Tensor:
    return torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in heads])


@register
class HeadMask(NativeMethod):
    name = "head_mask"
    family: ClassVar[Family] = "selective"
    memory = MethodProfile("vector")
    paper = "Michel, Levy & Neubig, 2019, Are Sixteen Heads Really Better than One?"
    Options = HeadMaskOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        arch = architecture(model)
        bad = [h for h in options.heads if not 0 <= h < arch.num_heads]
        if bad or not options.heads:
            raise TunesmithError(
                f"method head_mask: heads {options.heads} must be a non-empty list of indices "
                f"in 0..{arch.num_heads - 1}"
            )
        n_layers = len(arch.blocks)
        layers = options.layers if options.layers is not None else list(range(n_layers))
        if any(not 0 <= i < n_layers for i in layers):
            raise TunesmithError(
                f"method head_mask: layers {layers} must be indices in 0..{n_layers - 1}"
            )
        heads = sorted(set(options.heads))
        group = arch.num_heads // arch.num_kv_heads  # query heads per key/value head (GQA)
        kv_heads = sorted({h // group for h in heads})
        for i in layers:
            block = arch.blocks[i]
            _, out = block.one("o")
            if options.mode == "gate":
                add_delta(out, ColumnGate(heads, arch.head_dim))
                continue
            for role, chosen in (("q", heads), ("k", kv_heads), ("v", kv_heads)):
                _, layer = block.one(role)
                add_delta(layer, RowDelta(_rows(chosen, arch.head_dim), layer.in_features, 0))
            add_delta(out, RowDelta(_rows(heads, arch.head_dim), out.out_features, 1))
        return {"layers": layers, "heads": heads, "kv_heads": kv_heads}
