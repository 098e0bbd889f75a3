"""``method:`` the fine-tuning method and its own keys.

``method: {name: lora, r: 8, alpha: 32}``: ``name`` picks a registered method
(:data:`tunesmith.methods.METHODS`); every other key belongs to that method's ``Options``
section and is validated against it, with the same errors as the rest of the config (file,
line, key, the nearest valid key). The registry is imported only when a config is validated,
so the config package stays importable without torch and PEFT loaded first.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from tunesmith.config.base import Section


def _method_options(name: str) -> type[Section]:
    from tunesmith.methods import METHODS  # deferred: the methods import torch and PEFT

    return METHODS.get(name).Options


def _method_names() -> list[str]:
    from tunesmith.methods import METHODS  # deferred: the methods import torch and PEFT

    return METHODS.names()


def method_tasks(name: str) -> tuple[str, ...]:
    """The ``model.task`` values the registered method ``name`` trains."""
    from tunesmith.methods import METHODS  # deferred: the methods import torch and PEFT

    return tuple(METHODS.get(name).tasks)


def unsupported_task_error(method: str, task: str) -> ValidationError | None:
    """The error at ``method.name`` when ``method`` does not train ``task``; else None."""
    tasks = method_tasks(method)
    if task in tasks:
        return None
    others = [n for n in _method_names() if task in method_tasks(n)]
    return ValidationError.from_exception_data("RunConfig", [InitErrorDetails(
        type=PydanticCustomError(
            "method_task", "method '{method}' does not train model.task '{task}' (it trains "
            "{tasks}); methods that do: {others}",
            {"method": method, "task": task, "tasks": ", ".join(tasks),
             "others": ", ".join(others)}),
        loc=("method", "name"), input=method)])


def _unknown_key(method: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"; did you mean 'method.{close[0]}'?" if close else "."
    text = f"unknown key for method '{method}'{hint} Valid keys here: {', '.join(['name', *valid])}"
    return text.replace("{", "{{").replace("}", "}}")  # a format string to pydantic


class MethodConfig(Section):
    """The fine-tuning method (``name``) and that method's own keys (see docs/methods.md)."""

    # the method's keys are checked against its Options by the validator below
    model_config = ConfigDict(extra="allow", validate_assignment=True)

    # seed: LoraConfig(r=8, lora_alpha=32, target_modules=[q_proj, v_proj]) is the default
    name: str = Field(
        "lora",
        description="A registered method: lora, dora, qlora, adalora, ia3, prompt_tuning, "
        "prefix_tuning, p_tuning, loha, lokr, vera, oft, boft, ln_tuning, peft, full, freeze, "
        "bitfit, houlsby, ... (`tunesmith compare --help` lists them). Its other keys are the "
        "method's own; see docs/methods.md.",
    )

    _options: Section | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _check_method_keys(cls, data: Any, handler: Any) -> MethodConfig:
        config: MethodConfig = handler(data)
        if config._options is not None and not isinstance(data, dict):
            return config  # revalidating an already checked instance
        extra = dict(config.model_extra or {})
        names = _method_names()
        if config.name not in names:
            close = difflib.get_close_matches(config.name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValidationError.from_exception_data(cls.__name__, [InitErrorDetails(
                type=PydanticCustomError(
                    "unknown_method", "unknown method; {hint}Known: {known}",
                    {"hint": hint, "known": ", ".join(names)}),
                loc=("name",), input=config.name)])
        options_cls = _method_options(config.name)
        valid = list(options_cls.model_fields)
        unknown = [InitErrorDetails(
            type=PydanticCustomError("unknown_method_key", _unknown_key(config.name, key, valid)),
            loc=(key,), input=value)
            for key, value in extra.items() if key not in valid]
        if unknown:
            raise ValidationError.from_exception_data(cls.__name__, unknown)
        options = options_cls.model_validate(extra)  # its errors carry the key's own path
        # the extras become the full, validated option set: dumps and hashes see every default
        object.__setattr__(config, "__pydantic_extra__", options.model_dump(mode="python"))
        config._options = options
        return config

    @property
    def options(self) -> Any:
        """The chosen method's validated ``Options`` section."""
        if self._options is None:
            self._options = _method_options(self.name).model_validate(self.model_extra or {})
        return self._options
