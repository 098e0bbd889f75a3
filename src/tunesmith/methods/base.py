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
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from tunesmith.config.base import Section
from tunesmith.errors import TunesmithError
from tunesmith.registry import Registry

Family = Literal["full", "additive", "reparameterised", "selective", "hybrid"]


class MergeNotSupportedError(TunesmithError):
    """The method's update cannot be folded into the base weights (say why)."""


class NoOptions(Section):
    """This method has no options of its own."""


class TuningMethod:
    """Base class; subclasses set the class attributes and implement ``prepare``."""

    family: ClassVar[Family]
    paper: ClassVar[str]  # the citation, also in the module docstring
    Options: ClassVar[type[Section]] = NoOptions
    mergeable: ClassVar[bool] = False

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
