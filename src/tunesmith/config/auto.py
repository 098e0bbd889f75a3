"""``Auto[T]``: a config value that is either a ``T`` or the literal ``'auto'``.

One mechanism for every key that can be left to tunesmith: the value stays ``'auto'`` in the
config object (so a dumped config shows what the user wrote), and whoever decides it
resolves it into a *new* object: the planner for the training hyperparameters
(``plan.planner.resolve_plan``), the trainer for what depends on the machine it runs on
(``train.hardware.choose_hardware``). Constraints go on the inner type,
``Auto[Annotated[int, Field(ge=1)]]``: pydantic cannot compare ``'auto'`` with a number.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeVar, Union

from pydantic import BaseModel
from typing_extensions import TypeIs

from tunesmith.errors import TunesmithError

AUTO: Final = "auto"
T = TypeVar("T")


class AutoMark:
    """The marker pydantic keeps in a field's metadata: the field accepts ``'auto'``."""

    def __repr__(self) -> str:
        return "Auto"


AUTO_MARK: Final = AutoMark()

# a generic alias: Auto[int] is `int | Literal["auto"]` to mypy and to pydantic, plus the mark
Auto = Annotated[Union[T, Literal["auto"]], AUTO_MARK]  # noqa: UP007 (a TypeVar union alias)


def is_auto(value: object) -> TypeIs[Literal["auto"]]:
    """Whether ``value`` is the literal ``'auto'`` (narrows ``Auto[T]`` to ``T`` otherwise)."""
    return isinstance(value, str) and value == AUTO


def is_auto_field(model: type[BaseModel], name: str) -> bool:
    """Whether ``model``'s field ``name`` was declared ``Auto[...]``."""
    field = model.model_fields.get(name)
    return field is not None and any(isinstance(m, AutoMark) for m in field.metadata)


def auto_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` declared ``Auto[...]``, in declaration order."""
    return tuple(name for name in model.model_fields if is_auto_field(model, name))


def resolved(value: Auto[T], key: str) -> T:
    """``value``, which must have been resolved by now; ``key`` names it in the error."""
    if is_auto(value):
        raise TunesmithError(f"{key}: 'auto' reached code that needs a value; the planner "
                             "resolves it for a causal LM's training (`tunesmith plan`), "
                             "otherwise set a value in the config")
    return value


def or_default(section: BaseModel, name: str) -> Any:
    """The value of ``section.name``, or the field's default when it is ``'auto'``: for the
    tools that run before the plan exists (lr-find, the search, ``estimate --measure``)."""
    value = getattr(section, name)
    return type(section).model_fields[name].default if is_auto(value) else value
