"""Render the config reference (docs/config.md) from the schema itself, so it cannot drift."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from tunesmith.config.auto import AutoMark
from tunesmith.config.load import unwrap_model
from tunesmith.config.model import TASKS
from tunesmith.config.run import RunConfig


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Annotated:  # a constrained type: the constraint is described
        annotation = get_args(annotation)[0]
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def _field_type(field: FieldInfo) -> str:
    """The field's type as written: ``Auto[float]`` for ``float | Literal['auto']``."""
    if not any(isinstance(m, AutoMark) for m in field.metadata):  # not Auto[...]
        return _type_name(field.annotation)
    inner = [a for a in get_args(field.annotation) if a != Literal["auto"]]
    return f"Auto[{' | '.join(_type_name(a) for a in inner)}]"


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{value!r}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        sub = unwrap_model(field.annotation)
        if sub is not None:
            nested.append((key, sub))
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | `{_field_type(field)}` | {_default(field)} "
                    f"| {description} |")
    for key, sub in nested:
        is_list = "list[" in str(model.model_fields[key.rsplit('.', 1)[-1]].annotation)
        rows.extend(_rows(sub, f"{key}[]." if is_list else f"{key}."))
    return rows


def render_reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the schema (`tunesmith.config`) by "
        "`python -m tunesmith.config.reference > docs/config.md`; a test keeps it current.",
        "Unknown keys are errors. Relative data paths resolve against the config file;",
        "`output_dir` against the working directory. Override any key with "
        "`--set key.path=value`.",
        "`Auto[T]`: a `T`, or `auto` for tunesmith to decide (the planner, or the trainer on the "
        "machine that trains); the config keeps `auto`, the decision goes into a resolved copy.",
        "",
    ]
    top = [f"| `{n}` | `{_field_type(f)}` | {_default(f)} | {f.description or ''} |"
           for n, f in RunConfig.model_fields.items() if unwrap_model(f.annotation) is None]
    lines += ["## Top level", "", "| key | type | default | meaning |",
              "| --- | --- | --- | --- |", *top, ""]
    for name, field in RunConfig.model_fields.items():
        sub = unwrap_model(field.annotation)
        if sub is None:
            continue
        doc = (sub.__doc__ or "").strip().splitlines()[0] if sub.__doc__ else ""
        lines += [f"## `{name}:`", "", doc, "", "| key | type | default | meaning |",
                  "| --- | --- | --- | --- |", *_rows(sub, f"{name}."), ""]
    lines += _method_options()
    return "\n".join(lines).rstrip() + "\n"


def _method_options() -> list[str]:
    """``method:``'s other keys depend on ``method.name``: one table per registered method."""
    from tunesmith.methods import METHODS  # deferred: the methods import torch and PEFT

    lines = ["## `method:` keys of each method", "",
             "Besides `name`, `method:` takes the keys of the chosen method "
             "(see docs/methods.md).", ""]
    for name in METHODS.names():
        cls = METHODS.get(name)
        doc = (cls.Options.__doc__ or "").strip().splitlines()[0] if cls.Options.__doc__ else ""
        rows = _rows(cls.Options, "method.")
        lines += [f"### `name: {name}` ({cls.family})", "", doc, ""]
        if set(cls.tasks) != set(TASKS):
            lines += [f"Trains `model.task`: {', '.join(cls.tasks)} only.", ""]
        lines += (["| key | type | default | meaning |", "| --- | --- | --- | --- |", *rows, ""]
                  if rows else ["No keys of its own.", ""])
    return lines


if __name__ == "__main__":
    print(render_reference(), end="")
