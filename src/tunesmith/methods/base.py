"""What every fine-tuning method provides: one same-shaped class, registered once by name.

A method turns a loaded base model into a model whose only trainable parameters are the ones it
intends to train, and knows how to save, load and (where the mathematics allows) merge them.
The training workflow never branches on a method's name: it asks the method.

    @METHODS.register("houlsby")
    class Houlsby(TuningMethod):
        family = "additive"
        paper = "Houlsby et al., 2019, Parameter-Efficient Transfer Learning for NLP"
        Options = HoulsbyOptions          # a config Section: the method's own keys

        def prepare(self, model, options): ...

How the workflow (train/sft.py) drives a method, in order:

1. ``cls()`` with no arguments, then ``method.total_steps = N`` (the optimizer steps planned).
2. ``load_kwargs(options)``: extra ``from_pretrained`` keyword arguments for the base model
   (QLoRA's ``quantization_config``); ``{}`` for most methods.
3. ``prepare(model, options)``: the model to train. Only the intended parameters may have
   ``requires_grad=True``. PEFT methods return a ``PeftModel``.
4. Each training step: the loss is the model's loss + ``extra_loss(model)`` (if not None);
   after each optimizer step, before ``zero_grad``, every ``step_hooks(model)`` callable is
   called with the global step.
5. ``save(model, directory)``; later ``load(base, directory)`` rebuilds it (evaluation, the
   method matrix). The workflow also writes ``tunesmith_method.json`` ({name, options}) beside
   what ``save`` writes, so evaluation knows which method loads the folder: do not use that
   file name.
6. ``merge(model)`` where ``mergeable``; otherwise ``MergeNotSupportedError`` saying why.

``tasks`` lists the ``model.task`` values the method trains (all three by default: a PEFT
tuner takes its task type from the model's head, a native method wraps the encoder's layers as
it wraps a decoder's); the config refuses any other pairing, naming ``method.name``.

``trains_base`` says whether the method unfreezes parameters of the base model itself (full,
freeze, bitfit on existing biases, head_mask): the method matrix checks that methods with
``trains_base = False`` leave every original parameter frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from tunesmith.config.base import Section
from tunesmith.config.model import TASKS, Task
from tunesmith.errors import TunesmithError
from tunesmith.registry import Registry

Family = Literal["full", "additive", "reparameterised", "selective", "hybrid"]


class MergeNotSupportedError(TunesmithError):
    """The method's update cannot be folded into the base weights (say why)."""


class NoOptions(Section):
    """This method has no options of its own."""


@dataclass(frozen=True)
class MethodProfile:
    """What a method means for memory, as the planner sizes it (plan/memory.py). ``kind``
    decides the accounting: full, freeze (top layers), adapter (low-rank and friends on target
    projections), vector (IA3-like scalings), prompt (virtual tokens), bottleneck (Houlsby
    adapters), norm (LayerNorm/RMSNorm tuning), bias (BitFit)."""

    kind: str
    adapter_factor: float = 1.0  # adapter params per r*(in+out): 2 for LoHa, ...
    quantized_base: bool = False
    note: str = ""


class TuningMethod:
    """Base class; subclasses set the class attributes and implement ``prepare``."""

    family: ClassVar[Family]
    paper: ClassVar[str]  # the citation, also in the module docstring
    Options: ClassVar[type[Section]] = NoOptions
    mergeable: ClassVar[bool] = False
    tasks: ClassVar[tuple[Task, ...]] = TASKS
    trains_base: ClassVar[bool] = False
    # how the planner sizes it; None: it cannot (``peft`` wraps whichever tuner it names)
    memory: ClassVar[MethodProfile | None] = None
    total_steps: int | None = None  # set by the workflow before prepare (AdaLoRA's schedule)

    def load_kwargs(self, options: Any) -> dict[str, Any]:
        """Extra ``from_pretrained`` arguments for the base model (a quantization config)."""
        return {}

    def prepare(self, model: nn.Module, options: Any) -> nn.Module:
        """Freeze the base and add/unfreeze what this method trains; return the model to train."""
        raise NotImplementedError

    def save(self, model: nn.Module, directory: Path) -> None:
        """Write only the trained parameters (safetensors) and a JSON config with the version."""
        raise NotImplementedError

    def load(self, base: nn.Module, directory: Path) -> nn.Module:
        """Rebuild the trained model from a base model and what ``save`` wrote."""
        raise NotImplementedError

    def merge(self, model: nn.Module) -> nn.Module:
        """Fold the update into the base weights; a plain model with identical outputs."""
        raise MergeNotSupportedError(f"{type(self).__name__} cannot be merged")

    def extra_loss(self, model: nn.Module) -> torch.Tensor | None:
        """A term added to the training loss (an L0 penalty, for example); None if none."""
        return None

    def step_hooks(self, model: nn.Module) -> list[Callable[[int], None]]:
        """Called with the global step after each optimizer step and before ``zero_grad``
        (AdaLoRA's ``update_and_allocate``, movement pruning's schedule)."""
        return []


METHODS = Registry[type[TuningMethod]]("method")
