"""Bottleneck adapters shared by ``houlsby``, ``compacter`` and ``lora_adapter``.

A bottleneck adapter maps ``h`` to ``h + s · up(f(down(x)))`` where ``x`` is ``h`` itself
(sequential, Houlsby et al., 2019) or the sub-layer's input (parallel, He et al., 2022). The
up-projection starts at zero, so an adapted model starts as the base model. Adapters compute
in float32 and return the sub-layer's dtype.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tunesmith.methods.native._common import Block, OutputAdapter, activation, attach_adapter

_CAPTURE = "_tunesmith_capture"


class Bottleneck(OutputAdapter):
    def __init__(
        self,
        down: nn.Module,
        up: nn.Module,
        non_linearity: str,
        *,
        parallel: bool = False,
        scale: float = 1.0,
    ):
        super().__init__()
        self.down, self.up, self.act = down, up, activation(non_linearity)
        self.parallel, self.scale = parallel, scale
        self.source: torch.Tensor | None = None  # the sub-layer's input, for parallel adapters

    def adapt(self, inputs: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        x = self.source if self.parallel else output
        if x is None:
            raise RuntimeError("parallel adapter: the FFN input was not captured")
        self.source = None
        h = self.up(self.act(self.down(x.float())))
        return output + (self.scale * h).to(output.dtype)


def zero_linear(inp: int, out: int) -> nn.Linear:
    layer = nn.Linear(inp, out)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def down_linear(inp: int, out: int) -> nn.Linear:
    layer = nn.Linear(inp, out)
    nn.init.normal_(layer.weight, std=0.02)  # BERT's init, as adapter implementations use
    nn.init.zeros_(layer.bias)
    return layer


def _capture(module: nn.Module, args: tuple[Any, ...]) -> None:
    module.__dict__[_CAPTURE].source = args[0]


def attach(block: Block, where: str, adapter: Bottleneck) -> None:
    """Attach after the attention output projection (``attention``) or after the FFN's
    output projection (``ffn``); a parallel FFN adapter reads the FFN's input."""
    _, layer = block.one("o" if where == "attention" else "ffn_out")
    attach_adapter(layer, adapter)
    if adapter.parallel:
        inputs = block.by_role("ffn_in")  # LLaMA: gate and up read the same input
        if not inputs:
            block.one("ffn_in")  # raises, naming the layer's linear layers
        _, first = inputs[0]
        first.__dict__[_CAPTURE] = adapter  # a reference, not a submodule
        first.register_forward_pre_hook(_capture)


def hidden_size(block: Block) -> int:
    _, out = block.one("o")
    return out.out_features
