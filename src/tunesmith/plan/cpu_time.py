"""Step time on a CPU from timed building blocks: a kernel-level cost model.

FLOPs over one matrix-multiply rate (tunesmith.plan.compute) is the right model for a GPU at a
known utilisation, but it under-predicted CPU steps of small models by 1.4-4.5x
(docs/benchmarks.md): a 1024x1024 product runs near the core's peak, while a small model's
products are narrow (hidden 256, LoRA rank 8), and the work that is not a matrix product
(RMSNorm, rotary embeddings, SwiGLU, attention's softmax, the loss over the vocabulary, dropout,
AdamW and gradient clipping) moves memory at a few FLOPs per byte.

So this model times the blocks a LLaMA decoder step is made of, on this machine, at the exact
shapes of the configuration -- each linear layer forward and backward (with or without its
weight's gradient), SDPA attention, RMSNorm, rotary, SwiGLU, the residual adds, LoRA's branch,
the loss over the vocabulary, the optimizer step over the real list of trainable tensors -- and
adds them up by how often one step runs each (layers x blocks; what the method trains decides
which backward passes run; activation checkpointing adds a forward of every layer). It predicts
any depth and method from blocks of one layer, without building the model. Blocks are timed
with the process's CPU time when torch runs one thread (so other jobs on a shared machine do
not count) or with the wall clock otherwise, and cached per host, torch version, thread count,
clock and shape (``$TUNESMITH_CACHE/cpu_blocks.json``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.plan.catalog import ModelShape
from tunesmith.plan.memory import TrainSetup
from tunesmith.plan.methods import profile, resolve_targets
from tunesmith.utils.io import write_json_atomic


def default_clock() -> str:
    """'cpu' (process CPU time) with one torch thread, else 'wall'."""
    return "cpu" if torch.get_num_threads() == 1 else "wall"


def clock_now(clock: str) -> float:
    return time.process_time() if clock == "cpu" else time.perf_counter()


def host_key() -> str:
    """This machine's processor, torch and thread count: what block times depend on."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh
                          if ln.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}|torch {torch.__version__}|{torch.get_num_threads()} threads"


def cache_path() -> Path:
    root = os.environ.get("TUNESMITH_CACHE") or str(Path.home() / ".cache" / "tunesmith")
    return Path(root) / "cpu_blocks.json"


@dataclass
class BlockTimer:
    """Times ``fn`` (forward and, when asked, backward) at a shape; remembers the result.

    Each measurement: one warm-up call, then rounds of calls lasting at least ``min_seconds``;
    the median round's mean per call. ``cache`` (a path or None) keeps results across runs.
    """

    clock: str = field(default_factory=default_clock)
    min_seconds: float = 0.02
    rounds: int = 3
    cache: Path | None = None
    _memo: dict[str, float] = field(default_factory=dict)
    timed: int = 0  # blocks actually run (not from the cache)

    def __post_init__(self) -> None:
        if self.cache is not None and self.cache.exists():
            try:
                stored = json.loads(self.cache.read_text(encoding="utf-8"))
                self._memo.update(stored.get(self._prefix(), {}))
            except (OSError, ValueError):
                pass

    def _prefix(self) -> str:
        return f"{host_key()}|{self.clock}"

    def save(self) -> None:
        if self.cache is None or not self.timed:
            return
        stored: dict[str, Any] = {}
        if self.cache.exists():
            try:
                stored = json.loads(self.cache.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                stored = {}
        stored[self._prefix()] = self._memo
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.cache, stored)

    def seconds(self, key: str, make: Callable[[], Callable[[], None]]) -> float:
        """Mean seconds of one call of the closure ``make()`` returns."""
        if key in self._memo:
            return self._memo[key]
        fn = make()
        fn()  # warm-up: allocator, kernels' first-call setup
        per_call = []
        for _ in range(self.rounds):
            n, start = 0, clock_now(self.clock)
            while True:
                fn()
                n += 1
                elapsed = clock_now(self.clock) - start
                if elapsed >= self.min_seconds and n >= 2:
                    break
            per_call.append(elapsed / n)
        value = statistics.median(per_call)
        self._memo[key] = value
        self.timed += 1
        return value

    def fwd_bwd(self, key: str, build: Callable[[], tuple[Callable[[], torch.Tensor],
                                                            list[torch.Tensor]]],
                backward: bool) -> tuple[float, float]:
        """(forward, backward) seconds of a block. ``build`` returns the forward closure and
        the leaves whose ``.grad`` the backward fills (cleared between calls)."""
        forward, leaves = build()

        def fwd() -> None:
            with torch.no_grad() if not backward else torch.enable_grad():
                forward()

        def both() -> None:
            out = forward()
            out.backward(torch.ones_like(out))
            for leaf in leaves:
                leaf.grad = None

        f = self.seconds(f"{key}|fwd|{backward}", lambda: fwd)
        if not backward:
            return f, 0.0
        total = self.seconds(f"{key}|fwd+bwd", lambda: both)
        return f, max(total - f, 0.0)


def _rand(*shape: int, grad: bool = False) -> torch.Tensor:
    return torch.randn(*shape).requires_grad_(grad)


def _linear(m: int, k: int, n: int, w_grad: bool, x_grad: bool) -> Any:
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        x, w = _rand(m, k, grad=x_grad), _rand(n, k, grad=w_grad)
        return (lambda: F.linear(x, w)), [x, w]
    return build


def _lora(m: int, k: int, n: int, r: int, dropout: float, x_grad: bool) -> Any:
    """PEFT's LoRA branch: dropout(x) @ A^T @ B^T x scale, added to the base output."""
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        x, base = _rand(m, k, grad=x_grad), _rand(m, n)
        a, b = _rand(r, k, grad=True), _rand(n, r, grad=True)
        drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        return (lambda: base + F.linear(F.linear(drop(x), a), b) * 2.0), [x, a, b]
    return build


def _attention(b: int, heads: int, kv_heads: int, s: int, kv_len: int, d: int) -> Any:
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        q = _rand(b, heads, s, d, grad=True)
        k, v = _rand(b, kv_heads, kv_len, d, grad=True), _rand(b, kv_heads, kv_len, d, grad=True)
        gqa = kv_heads != heads
        return (lambda: F.scaled_dot_product_attention(
            q, k, v, is_causal=kv_len == s, enable_gqa=gqa).transpose(1, 2).reshape(b, s, -1)
        ), [q, k, v]
    return build


def _rmsnorm(m: int, h: int, w_grad: bool) -> Any:
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        norm = LlamaRMSNorm(h)
        norm.weight.requires_grad_(w_grad)
        x = _rand(m, h, grad=True)
        return (lambda: norm(x)), [x, norm.weight]
    return build


def _rotary(b: int, heads: int, kv_heads: int, s: int, d: int) -> Any:
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        q, k = _rand(b, heads, s, d, grad=True), _rand(b, kv_heads, s, d, grad=True)
        cos, sin = torch.randn(b, s, d), torch.randn(b, s, d)

        def run() -> torch.Tensor:
            qe, ke = apply_rotary_pos_emb(q, k, cos, sin)
            return qe.sum() + ke.sum()
        return run, [q, k]
    return build


def _swiglu(m: int, i: int) -> Any:
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        g, u = _rand(m, i, grad=True), _rand(m, i, grad=True)
        return (lambda: F.silu(g) * u), [g, u]
    return build


def _add(m: int, h: int) -> Any:
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        a, c = _rand(m, h, grad=True), _rand(m, h, grad=True)
        return (lambda: a + c), [a, c]
    return build


def _scale(m: int, n: int) -> Any:
    """IA3: an activation times a learned vector."""
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        x, vec = _rand(m, n, grad=True), _rand(n, grad=True)
        return (lambda: x * vec), [x, vec]
    return build


def _loss(b: int, s: int, v: int) -> Any:
    """transformers' causal-LM loss: fp32 logits, shifted labels, mean cross-entropy."""
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        logits = _rand(b, s, v, grad=True)
        labels = torch.randint(0, v, (b, s))

        def run() -> torch.Tensor:
            shift = F.pad(labels, (0, 1), value=-100)[..., 1:].reshape(-1)
            return F.cross_entropy(logits.float().view(-1, v), shift, ignore_index=-100)
        return run, [logits]
    return build


def _embedding(m: int, v: int, h: int, w_grad: bool) -> Any:
    def build() -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
        table, ids = _rand(v, h, grad=w_grad), torch.randint(0, v, (m,))
        return (lambda: F.embedding(ids, table)), [table]
    return build


def _optimizer(shapes: list[tuple[int, ...]], clip: bool) -> Callable[[], Callable[[], None]]:
    """AdamW's step (torch's default implementation) and gradient clipping over the trainable
    tensors, each with a gradient; zero_grad(set_to_none) is free."""
    def make() -> Callable[[], None]:
        params = [torch.randn(*s).requires_grad_(True) for s in shapes]
        for p in params:
            p.grad = torch.randn_like(p)
        opt = torch.optim.AdamW(params, lr=1e-6)
        opt.step()  # creates the states

        def run() -> None:
            if clip:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        return run
    return make


@dataclass
class StepTime:
    seconds: float
    parts: dict[str, float]  # block group -> seconds per step
    blocks_timed: int
    clock: str

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "parts": {k: round(v, 5) for k, v in self.parts.items()},
                "blocks_timed": self.blocks_timed, "clock": self.clock}


def trainable_shapes(shape: ModelShape, setup: TrainSetup) -> list[tuple[int, ...]]:
    """The trainable tensors of the configuration, as the optimizer sees them."""
    kind = profile(setup.method).kind
    lin = shape.linear_shapes()
    h, layers = shape.hidden, shape.layers
    per_layer: list[tuple[int, ...]]
    if kind in ("full", "freeze"):
        per_layer = [(o, i) for i, o in lin.values()] + [(h,), (h,)]
        n = layers if kind == "full" else min(setup.trainable_layers, layers)
        out = per_layer * n
        if kind == "full":
            out += [(shape.vocab, h), (h,)] + ([] if shape.tied else [(shape.vocab, h)])
        return out
    if kind == "prompt":
        return [(setup.virtual_tokens, h)]
    if kind == "vector":  # IA3: one vector per k, v (their output) and down (its input)
        return [(lin["k_proj"][1], 1), (lin["v_proj"][1], 1), (1, lin["down_proj"][0])] * layers
    targets = [t for t in resolve_targets(setup.lora_targets) if t in lin]
    r = setup.lora_rank
    pairs: list[tuple[int, ...]] = [
        s for t in targets for s in ((r, lin[t][0]), (lin[t][1], r))]
    return pairs * layers


def predict_step(shape: ModelShape, setup: TrainSetup, timer: BlockTimer | None = None
                 ) -> StepTime:
    """Seconds of one optimizer step (batch ``setup.batch_size`` x ``setup.seq_len``) on this
    CPU, fp32, as tunesmith.plan.steps.Stepper runs it (forward, backward, clipping, AdamW)."""
    timer = timer or BlockTimer()
    kind = profile(setup.method).kind
    b, s = setup.batch_size, setup.seq_len
    kv_len = s
    if kind == "prompt":
        if setup.method == "prefix_tuning":
            kv_len = s + setup.virtual_tokens  # virtual keys and values, the queries unchanged
        else:
            s = s + setup.virtual_tokens  # virtual tokens prepended to the input
    m, h, d = b * s, shape.hidden, shape.dim_head
    lin = shape.linear_shapes()
    targets = set(resolve_targets(setup.lora_targets)) if kind == "adapter" else set()
    layers = shape.layers
    trained_layers = min(setup.trainable_layers, layers) if kind == "freeze" else layers
    parts: dict[str, float] = {}

    def add(group: str, seconds: float, times: float = 1.0) -> None:
        parts[group] = parts.get(group, 0.0) + seconds * times

    def layer_cost(backward: bool, train_weights: bool, x_grad_first: bool) -> float:
        """Adds one decoder layer's blocks to ``parts``; returns its forward seconds.
        ``backward``: whether the backward pass reaches the layer at all; ``x_grad_first``:
        whether the projections reading the layer's input must pass a gradient down (something
        trainable lies below them)."""
        fwd = bwd = 0.0

        def run(group: str, key: str, build: Any, bw: bool = backward) -> None:
            nonlocal fwd, bwd
            f, g = timer.fwd_bwd(key, build, bw)
            fwd, bwd = fwd + f, bwd + g
            add(group, f + g)

        for name, (i, o) in lin.items():
            reads_input = name in ("q_proj", "k_proj", "v_proj")
            x_grad = x_grad_first if reads_input else True
            w_grad = train_weights
            needs_bw = backward and (w_grad or x_grad)
            run("linear", f"linear|{m}|{i}|{o}|{w_grad}|{x_grad}",
                _linear(m, i, o, w_grad, x_grad), needs_bw)
            if name in targets:
                run("adapter", f"lora|{m}|{i}|{o}|{setup.lora_rank}|{setup.lora_dropout}|"
                    f"{x_grad}", _lora(m, i, o, setup.lora_rank, setup.lora_dropout, x_grad))
        if kind == "vector":
            for n in (lin["k_proj"][1], lin["v_proj"][1], lin["down_proj"][0]):
                run("adapter", f"scale|{m}|{n}", _scale(m, n))
        for _ in range(2):
            run("norm", f"rmsnorm|{m}|{h}|{train_weights}", _rmsnorm(m, h, train_weights))
            run("elementwise", f"add|{m}|{h}", _add(m, h))
        run("rotary", f"rotary|{b}|{shape.heads}|{shape.kv_heads}|{s}|{d}",
            _rotary(b, shape.heads, shape.kv_heads, s, d))
        run("attention", f"sdpa|{b}|{shape.heads}|{shape.kv_heads}|{s}|{kv_len}|{d}",
            _attention(b, shape.heads, shape.kv_heads, s, kv_len, d))
        run("elementwise", f"swiglu|{m}|{shape.intermediate}", _swiglu(m, shape.intermediate))
        return fwd

    # decoder layers, bottom to top. full: every weight trains, the embedding too, so every
    # gradient flows down; freeze: the frozen bottom runs forward only; adapters and vectors:
    # frozen weights, gradients through every layer but into the first one's input; soft
    # prompts: trainable inputs, so gradients reach the bottom
    lowest = layers - trained_layers
    for index in range(layers):
        if kind == "freeze":
            backward, weights, below = index >= lowest, index >= lowest, index > lowest
        else:
            backward, weights = True, kind == "full"
            below = kind in ("full", "prompt") or index > 0
        forward = layer_cost(backward, weights, below)
        if setup.gradient_checkpointing and backward:
            add("checkpointing (recompute)", forward)

    # embedding, final norm, output layer, loss
    full = kind == "full"
    f, g = timer.fwd_bwd(f"embedding|{m}|{shape.vocab}|{h}|{full}",
                         _embedding(m, shape.vocab, h, full), full)
    add("embedding", f + g)
    f, g = timer.fwd_bwd(f"rmsnorm|{m}|{h}|{full}", _rmsnorm(m, h, full), True)
    add("norm", f + g)
    f, g = timer.fwd_bwd(f"linear|{m}|{h}|{shape.vocab}|{full}|True",
                         _linear(m, h, shape.vocab, full, True), True)
    add("output layer", f + g)
    f, g = timer.fwd_bwd(f"loss|{b}|{s}|{shape.vocab}", _loss(b, s, shape.vocab), True)
    add("loss", f + g)

    tensors = trainable_shapes(shape, setup)
    key = f"optimizer|{len(tensors)}|{sum(_numel(t) for t in tensors)}|{tensors[:3]}"
    add("optimizer", timer.seconds(key, _optimizer(tensors, clip=True)))
    timer.save()
    return StepTime(sum(parts.values()), parts, timer.timed, timer.clock)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for dim in shape:
        n *= dim
    return n
