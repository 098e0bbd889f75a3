"""What every native method shares: freezing, finding the transformer's parts, weight updates,
save/load of the trained tensors, merging and parameter accounting.

The methods PEFT lacks are written against plain PyTorch so that they work on any Hugging Face
model built from ``nn.Linear`` layers (LLaMA-style decoders, BERT-style encoders):

- a *weight update* ``W + ΔW(θ)`` is a :mod:`torch.nn.utils.parametrize` parametrization of
  the linear layer's ``weight``: the base tensor stays untouched (``.original``), the update's
  parameters live in the parametrization, and merging is PyTorch's own
  ``remove_parametrizations(..., leave_parametrized=True)``;
- an *adapter* is a child module of the layer it follows plus a forward hook, so the base
  model's parameter names do not change and a saved adapter loads into a fresh base.

Saving writes only what was trained (every trainable parameter and the method's own buffers)
to ``native_method.safetensors``, beside ``native_method.json`` (the method, its options and
the tunesmith version). Loading prepares a fresh base with the saved options, then loads them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save
from torch import nn
from torch.nn.utils import parametrize

from tunesmith import __version__
from tunesmith.errors import TunesmithError
from tunesmith.methods.base import METHODS, MergeNotSupportedError, TuningMethod
from tunesmith.utils.io import atomic_open, write_json_atomic

log = logging.getLogger("tunesmith.methods.native")

CONFIG_FILE = "native_method.json"
WEIGHTS_FILE = "native_method.safetensors"
_MARK = "_tunesmith_native"  # attribute on the prepared model: {"method": name, "options": {...}}


class ArchitectureError(TunesmithError):
    """The model lacks what a method needs (attention projections, FFN layers, biases...)."""


class NativeModule(nn.Module):
    """Base of every module a native method adds; its persistent buffers are saved with it."""


# ---------------------------------------------------------------------------------------------
# Finding the parts of a transformer by module type and name


_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "q": ("q_proj", "query", "q_lin", "wq"),
    "k": ("k_proj", "key", "k_lin", "wk"),
    "v": ("v_proj", "value", "v_lin", "wv"),
    "o": ("o_proj", "out_proj", "out_lin", "wo"),
    "ffn_in": ("gate_proj", "up_proj", "fc1", "w1", "w3", "lin1", "c_fc"),
    "ffn_out": ("down_proj", "fc2", "w2", "lin2"),
}
ROLES = tuple(_ROLE_NAMES)
_ATTENTION_PATH = re.compile(r"(^|\.)(self_attn|attention|attn|self_attention)(\.|$)")


def _role(relative_name: str) -> str | None:
    """The part a linear layer plays, from its name inside a block (None if unknown)."""
    last = relative_name.rsplit(".", 1)[-1]
    for role, names in _ROLE_NAMES.items():
        if last in names:
            return role
    # BERT: attention.output.dense (o), intermediate.dense (ffn_in), output.dense (ffn_out)
    if last == "dense":
        if _ATTENTION_PATH.search(relative_name):
            return "o"
        if "intermediate" in relative_name:
            return "ffn_in"
        if relative_name.startswith("output") or ".output." in relative_name:
            return "ffn_out"
    return None


@dataclass
class Block:
    """One transformer layer: its qualified name and its linear layers by role."""

    index: int
    name: str
    module: nn.Module
    linears: dict[str, nn.Linear]  # relative name -> layer
    roles: dict[str, list[str]] = field(default_factory=dict)  # role -> relative names

    def by_role(self, role: str) -> list[tuple[str, nn.Linear]]:
        return [(name, self.linears[name]) for name in self.roles.get(role, [])]

    def one(self, role: str) -> tuple[str, nn.Linear]:
        found = self.by_role(role)
        if len(found) != 1:
            raise ArchitectureError(
                f"layer {self.name}: expected one {role!r} projection, found "
                f"{[n for n, _ in found] or 'none'} (linear layers: {sorted(self.linears)})"
            )
        return found[0]

    def attention_module(self) -> nn.Module:
        name, _ = self.one("o")
        path = name.split(".")
        parent = self.module
        for part in path[:-1]:
            parent = getattr(parent, part)
        return parent


@dataclass
class Architecture:
    blocks: list[Block]
    num_heads: int
    num_kv_heads: int
    head_dim: int


def find_blocks(model: nn.Module) -> list[Block]:
    """The transformer layers: the longest ``nn.ModuleList`` of same-typed modules holding
    ``nn.Linear`` layers (``model.layers``, ``encoder.layer``, ``transformer.h``...)."""
    best: tuple[str, nn.ModuleList] | None = None
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if len({type(child) for child in module}) != 1:
            continue
        if not any(isinstance(m, nn.Linear) for m in module[0].modules()):
            continue
        if best is None or len(module) > len(best[1]):
            best = (name, module)
    if best is None:
        raise ArchitectureError(
            f"{type(model).__name__}: no stack of transformer layers built from nn.Linear was "
            "found (models with fused or Conv1D projections, such as GPT-2, are not supported "
            "by the native methods; use a PEFT method)"
        )
    prefix, stack = best
    blocks = []
    for index, layer in enumerate(stack):
        linears = {n: m for n, m in layer.named_modules() if isinstance(m, nn.Linear)}
        roles: dict[str, list[str]] = {}
        for relative in linears:
            role = _role(relative)
            if role is not None:
                roles.setdefault(role, []).append(relative)
        blocks.append(Block(index, f"{prefix}.{index}", layer, linears, roles))
    return blocks


def architecture(model: nn.Module) -> Architecture:
    """The blocks plus the attention geometry, read from the model's config."""
    blocks = find_blocks(model)
    config = getattr(model, "config", None)
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None)
    if not heads:
        raise ArchitectureError(f"{type(model).__name__}: its config has no num_attention_heads")
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    _, q = blocks[0].one("q")
    head_dim = getattr(config, "head_dim", None) or q.out_features // heads
    if q.out_features != heads * head_dim:
        raise ArchitectureError(
            f"{type(model).__name__}: the query projection has {q.out_features} outputs, not "
            f"{heads} heads x {head_dim}"
        )
    return Architecture(blocks, int(heads), int(kv_heads), int(head_dim))


def select_linears(
    model: nn.Module, targets: Iterable[str], *, method: str
) -> list[tuple[str, nn.Linear]]:
    """Linear layers inside the transformer blocks chosen by role (``q k v o ffn_in ffn_out``,
    ``attention``, ``ffn``, ``all``) or by the last part of their name (``q_proj``, ``dense``).
    Qualified names, in model order. No match is an error naming what exists."""
    wanted = set(targets)
    expanded = set(wanted)
    if "all" in wanted or "all-linear" in wanted:
        expanded |= set(ROLES)
    if "attention" in wanted:
        expanded |= {"q", "k", "v", "o"}
    if "ffn" in wanted:
        expanded |= {"ffn_in", "ffn_out"}
    chosen = []
    for block in find_blocks(model):
        for relative, layer in block.linears.items():
            last = relative.rsplit(".", 1)[-1]
            if _role(relative) in expanded or last in expanded or relative in expanded:
                chosen.append((f"{block.name}.{relative}", layer))
    if not chosen:
        names = sorted({r.rsplit(".", 1)[-1] for b in find_blocks(model) for r in b.linears})
        raise TunesmithError(
            f"method {method}: target_modules {sorted(wanted)} matched no linear layer; "
            f"roles: {', '.join(ROLES)}, attention, ffn, all; layer names: {', '.join(names)}"
        )
    return chosen


# ---------------------------------------------------------------------------------------------
# Weight updates through torch.nn.utils.parametrize


class WeightDelta(NativeModule):
    """A parametrization ``W -> W + ΔW``; subclasses define ``delta(W)``. The update's
    parameters are float32 (an optimizer's fp16/bf16 master copy would lose small updates) and
    cast to the weight's dtype when added."""

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + self.delta(weight).to(weight.dtype)


def add_delta(layer: nn.Module, delta: WeightDelta) -> None:
    delta.to(next(layer.parameters()).device)
    parametrize.register_parametrization(layer, "weight", delta)


def deltas(model: nn.Module) -> Iterator[tuple[str, nn.Module, WeightDelta]]:
    """Every (qualified layer name, layer, update) the native methods registered."""
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations["weight"]:  # type: ignore[union-attr,index]
                if isinstance(p, WeightDelta):
                    yield name, module, p


def merge_deltas(model: nn.Module, *, only: type[WeightDelta] | None = None) -> None:
    """Fold updates into the weights: the layers become plain ``nn.Linear`` again."""
    model.eval()  # stochastic masks become deterministic
    for _, module, p in list(deltas(model)):
        if only is None or isinstance(p, only):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
            module.weight.requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# Adapters: a child module run on a layer's output by a forward hook


class OutputAdapter(NativeModule):
    """Run on the output of the module it is attached to: ``y -> adapt(x, y)``."""

    def adapt(self, inputs: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


_ADAPTER = "tunesmith_adapter"


def _run_adapter(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> Any:
    adapter = getattr(module, _ADAPTER)
    if isinstance(output, tuple):  # attention modules return (hidden, weights, ...)
        return (adapter.adapt(inputs, output[0]), *output[1:])
    return adapter.adapt(inputs, output)


def attach_adapter(module: nn.Module, adapter: OutputAdapter) -> None:
    if hasattr(module, _ADAPTER):
        raise TunesmithError(f"{type(module).__name__} already has an adapter")
    reference = next(module.parameters())
    adapter.to(reference.device)
    module.add_module(_ADAPTER, adapter)
    module.register_forward_hook(_run_adapter)


def adapters(model: nn.Module) -> Iterator[OutputAdapter]:
    for module in model.modules():
        found = getattr(module, _ADAPTER, None)
        if isinstance(found, OutputAdapter):
            yield found


def activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "gelu": nn.GELU(), "swish": nn.SiLU(), "tanh": nn.Tanh()}[name]


# ---------------------------------------------------------------------------------------------
# Freezing, accounting, the method base class


def freeze(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)


# Heads a task model adds on top of the pretrained body, newly initialised: they must train
# whatever the method (PEFT does the same with ``modules_to_save`` for SEQ_CLS/QA models).
_TASK_HEADS = ("classifier", "pre_classifier", "score", "qa_outputs")


def train_task_heads(model: nn.Module) -> list[str]:
    trained = []
    for name, child in model.named_children():
        if name in _TASK_HEADS:
            for p in child.parameters():
                p.requires_grad_(True)
            trained.append(name)
    return trained


def count_parameters(model: nn.Module) -> dict[str, float]:
    """Trainable and total parameters (shared tensors once), and the trainable share in %."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return {
        "trainable_params": trainable,
        "total_params": total,
        "trainable_percent": 100.0 * trainable / max(total, 1),
    }


def trained_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """What ``save`` writes: trainable parameters, and the parameters and persistent buffers
    of added modules (trainable or not: a fixed mask, a frozen gate)."""
    state = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    for name, module in model.named_modules():
        if isinstance(module, NativeModule):
            for param_name, param in module.named_parameters(recurse=False):
                state[f"{name}.{param_name}"] = param.detach()
            for buffer_name, buffer in module.named_buffers(recurse=False):
                if buffer_name not in module._non_persistent_buffers_set:
                    state[f"{name}.{buffer_name}"] = buffer.detach()
    return {n: t.contiguous().cpu() for n, t in state.items()}


def read_saved_config(directory: Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise TunesmithError(f"{directory}: no {CONFIG_FILE}; not saved by a native method")
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TunesmithError(f"{path}: not valid JSON ({exc.msg})") from None
    return config


class NativeMethod(TuningMethod):
    """Shared prepare/save/load/merge; a method implements ``apply`` (and ``merge_refusal``
    when it cannot be merged)."""

    name: ClassVar[str]
    merge_refusal: ClassVar[str] = ""

    def options(self, options: Any) -> Any:
        """Accept the Options instance, a mapping of its keys, or None for the defaults."""
        if options is None:
            return self.Options()
        if isinstance(options, self.Options):
            return options
        if isinstance(options, Mapping):
            return self.Options.model_validate({k: v for k, v in options.items() if k != "name"})
        raise TunesmithError(
            f"method {self.name}: options must be {self.Options.__name__}, got {type(options)}"
        )

    def apply(self, model: nn.Module, options: Any) -> dict[str, Any]:
        """Add/unfreeze what the method trains (the model is frozen); return facts to record."""
        raise NotImplementedError

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        opts = self.options(options)
        if getattr(model, _MARK, None) is not None:
            raise TunesmithError(f"this model was already prepared by {getattr(model, _MARK)}")
        freeze(model)
        facts = self.apply(model, opts)
        heads = train_task_heads(model)
        if heads:
            log.info("%s: the task heads %s train too (newly initialised)", self.name, heads)
            facts["task_heads"] = heads
        setattr(model, _MARK, {"method": self.name, "options": opts.model_dump(), "facts": facts})
        return model

    def save(self, model: nn.Module, directory: Path) -> None:
        mark = getattr(model, _MARK, None)
        if not mark or mark["method"] != self.name:
            raise TunesmithError(f"method {self.name}: this model was not prepared by it")
        directory = Path(directory)
        state = trained_state(model)
        config = {
            "method": self.name,
            "family": self.family,
            "paper": self.paper,
            "tunesmith_version": __version__,
            "options": mark["options"],
            "facts": mark["facts"],
            **count_parameters(model),
            "saved_tensors": len(state),
        }
        with atomic_open(directory / WEIGHTS_FILE, "wb") as handle:
            handle.write(save(state, metadata={"tunesmith_version": __version__}))
        write_json_atomic(directory / CONFIG_FILE, config)

    def load(self, base: nn.Module, directory: Path) -> nn.Module:
        config = read_saved_config(directory)
        if config.get("method") != self.name:
            raise TunesmithError(
                f"{Path(directory) / CONFIG_FILE}: saved by method {config.get('method')!r}, "
                f"not {self.name!r}"
            )
        model = self.prepare(base, self.Options.model_validate(config["options"]))
        tensors = load_file(str(Path(directory) / WEIGHTS_FILE))
        expected = set(trained_state(model))
        missing, unexpected = expected - set(tensors), set(tensors) - expected
        if missing or unexpected:
            raise TunesmithError(
                f"{Path(directory) / WEIGHTS_FILE} does not fit this base model: "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
            )
        self.load_state(model, tensors)
        model.eval()
        return model

    def load_state(self, model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
        result = model.load_state_dict(tensors, strict=False)
        if result.unexpected_keys:
            raise TunesmithError(f"unexpected tensors: {result.unexpected_keys[:5]}")

    def merge(self, model: nn.Module) -> nn.Module:
        if not self.mergeable:
            raise MergeNotSupportedError(f"{self.name} cannot be merged: {self.merge_refusal}")
        merge_deltas(model)
        setattr(model, _MARK, None)
        return model


def register(cls: type[NativeMethod]) -> type[NativeMethod]:
    """``@register`` under ``cls.name`` in the one method registry."""
    METHODS.register(cls.name)(cls)
    return cls


TARGETS_DESCRIPTION = (
    "Linear layers inside the transformer blocks to adapt: roles (q, k, v, o, ffn_in, ffn_out), "
    "groups (attention, ffn, all) or layer names (q_proj, up_proj, dense...)."
)
