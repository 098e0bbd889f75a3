"""``block_sparse``: a block-sparse update with a low-rank factor pair per block: the seed's
"LyRA" ("Block-sparse formulation: ΔW = Σ S_i · T_i (sparse blocks)").

The seed names no paper for LyRA; this implements its formula as written. Each targeted weight
is tiled into ``block_size x block_size`` blocks; a ``density`` share of them is selected once
(the blocks of largest base-weight norm, or a seeded random choice), and each selected block
``i`` gets the update ``S_i · T_i`` with ``S_i ∈ R^{b x r}`` (zero-initialised) and
``T_i ∈ R^{r x b}``. The update touches only the selected blocks, which is what makes it cheap
in optimizer memory (the seed's "VRAM reduction 10x over full finetuning" is a claim about the
trainable share; the saved config records the measured one). Related published designs:
block-sparse fine-tuning (Gray et al., 2017, "GPU Kernels for Block-Sparse Weights") and
sparse-plus-low-rank updates (Nikdan et al., 2024, "RoSA"). Mergeable: ``W + ΔW``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from tunesmith.config.base import Section
from tunesmith.methods.base import Family, MethodProfile
from tunesmith.methods.native._common import (
    TARGETS_DESCRIPTION,
    NativeMethod,
    WeightDelta,
    add_delta,
    register,
    select_linears,
)


class BlockSparseOptions(Section):
    """Block size, share of blocks, rank per block and how blocks are chosen."""

    target_modules: list[str] = Field(
        default_factory=lambda: ["all"], description=TARGETS_DESCRIPTION
    )
    block_size: int = Field(32, ge=1, description="Side of the square blocks (b).")
    density: float = Field(
        0.1, gt=0, le=1, description="Share of each weight's blocks that are updated."
    )
    rank: int = Field(4, ge=1, description="Rank r of each block's update S_i · T_i.")
    select: Literal["magnitude", "random"] = Field(
        "magnitude",
        description="magnitude: the blocks of largest base-weight norm; random: a seeded choice.",
    )
    seed: int = Field(0, description="Seed of the random block choice and initialisation.")


class BlockUpdate(WeightDelta):
    """``Σ_i S_i · T_i`` placed on the selected blocks of the (zero-padded) block grid."""

    blocks: torch.Tensor

    def __init__(self, weight: torch.Tensor, options: BlockSparseOptions, seed: int):
        super().__init__()
        b = self.block = options.block_size
        out, inp = weight.shape
        self.shape = (out, inp)
        self.grid = (math.ceil(out / b), math.ceil(inp / b))
        generator = torch.Generator().manual_seed(seed)
        count = self.grid[0] * self.grid[1]
        keep = max(1, round(options.density * count))
        if options.select == "magnitude":
            norms = self._tiles(weight.detach().float().cpu()).pow(2).sum((1, 2))
            chosen = norms.topk(keep).indices
        else:
            chosen = torch.randperm(count, generator=generator)[:keep]
        self.register_buffer("blocks", chosen.sort().values)
        self.left = nn.Parameter(torch.zeros(keep, b, options.rank))
        self.right = nn.Parameter(
            torch.randn(keep, options.rank, b, generator=generator) / math.sqrt(b)
        )

    def _tiles(self, matrix: torch.Tensor) -> torch.Tensor:
        """(rows, cols) -> (grid cells, b, b), zero-padded."""
        b, (gr, gc) = self.block, self.grid
        padded = matrix.new_zeros(gr * b, gc * b)
        padded[: matrix.shape[0], : matrix.shape[1]] = matrix
        return padded.view(gr, b, gc, b).permute(0, 2, 1, 3).reshape(gr * gc, b, b)

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        b, (gr, gc) = self.block, self.grid
        tiles = self.left.new_zeros(gr * gc, b, b).index_add(0, self.blocks, self.left @ self.right)
        full = tiles.view(gr, gc, b, b).permute(0, 2, 1, 3).reshape(gr * b, gc * b)
        return full[: self.shape[0], : self.shape[1]]


@register
class BlockSparse(NativeMethod):
    name = "block_sparse"
    family: ClassVar[Family] = "reparameterised"
    memory = MethodProfile("adapter")
    paper = "The seed's LyRA: block-sparse update ΔW = Σ S_i · T_i (no paper named)"
    Options = BlockSparseOptions
    mergeable = True

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        layers = select_linears(model, options.target_modules, method=self.name)
        updated = targeted = 0
        for index, (_, layer) in enumerate(layers):
            update = BlockUpdate(layer.weight, options, options.seed * 100_003 + index)
            add_delta(layer, update)
            updated += len(update.blocks) * options.block_size**2
            targeted += layer.weight.numel()
        return {"updated_share": min(1.0, updated / targeted), "weights": len(layers)}
