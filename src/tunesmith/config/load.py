"""Load ``tunesmith.yaml``: YAML with line numbers, dotted overrides, and errors a user can act on.

Every error names the file, the line, the key path and what was expected; a misspelt key gets
the nearest valid one. The CLI turns :class:`ConfigError` into exit code 2 without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from tunesmith.config.auto import is_auto_field
from tunesmith.config.run import RunConfig
from tunesmith.errors import TunesmithError

Loc = tuple[str | int, ...]


class ConfigError(TunesmithError):
    """A config the user must fix. ``str(err)`` is the whole message, one problem per line."""

    def __init__(self, problems: Sequence[str], path: Path | None = None):
        self.problems = list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}invalid config\n" + "\n".join(f"  - {p}" for p in problems))


def _line_map(node: yaml.Node, loc: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Map each key path to the 1-based line where it appears in the YAML source."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_loc = (*loc, str(key_node.value))
            out[key_loc] = key_node.start_mark.line + 1
            _line_map(value_node, key_loc, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[loc + (i,)] = item.start_mark.line + 1
            _line_map(item, loc + (i,), out)
    return out


def _duplicate_keys(node: yaml.Node | None, loc: Loc = (), name: str = "config") -> list[str]:
    """Every key given twice in one mapping (PyYAML keeps the last silently), with both lines."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first and key != "<<":  # '<<' is YAML's merge key, not a duplicate
                problems.append(f"{name}:{line}: duplicate key '{_dotted((*loc, key))}' "
                                f"(first at line {first[key]}; one of them must go)")
            first.setdefault(key, line)
            problems += _duplicate_keys(value_node, (*loc, key), name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*loc, i), name)
    return problems


def _override_locs(overrides: Sequence[str]) -> dict[Loc, str]:
    """Each ``--set`` item by the key path it sets."""
    locs: dict[Loc, str] = {}
    for item in overrides:
        dotted = item.partition("=")[0]
        locs[tuple(p for p in dotted.strip().split(".") if p)] = item
    return locs


def _set_flag(loc: Loc, overridden: Mapping[Loc, str]) -> str | None:
    """The ``--set`` item behind an error at ``loc`` (the key, a value inside it, or a check
    over its section), if any."""
    keys = tuple(p for p in loc if not isinstance(p, int))
    for set_loc, item in overridden.items():
        n = min(len(set_loc), len(keys))
        if n and set_loc[:n] == keys[:n]:
            return item
    return None


def _model_at(loc: Loc, root: type[BaseModel] = RunConfig) -> type[BaseModel] | None:
    """The pydantic model whose fields live at ``loc`` (list indices are stepped through)."""
    current: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = unwrap_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def unwrap_model(annotation: Any) -> Any:
    """``list[X]``, ``X | None`` → ``X`` where X is a model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = unwrap_model(arg)
            if found is not None:
                return found
    return None


def _nearest(word: str, options: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return matches[0] if matches else None


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "<root>"


def _describe(err: Mapping[str, Any], lines: Mapping[Loc, int], path: Path | None,
              overridden: Mapping[Loc, str] | None = None) -> str:
    loc: Loc = tuple(err["loc"])
    line = lines.get(loc)
    parent_loc = loc[:-1]
    while line is None and parent_loc:
        line = lines.get(parent_loc)
        parent_loc = parent_loc[:-1]
    where = f"{path.name if path else 'config'}:{line}: " if line else ""
    flag = _set_flag(loc, overridden or {})
    if flag is not None:  # the value came from the command line, not from the file
        where = f"--set {flag}: "
    key = _dotted(loc)
    if err["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = list(model.model_fields) if model else []
        hint = _nearest(str(loc[-1]), valid)
        suggestion = f"; did you mean '{_dotted((*loc[:-1], hint))}'?" if hint else ""
        allowed = f" Valid keys here: {', '.join(valid)}." if valid else ""
        return f"{where}unknown key '{key}'{suggestion}{allowed}"
    if err["type"] == "missing":
        return f"{where}missing required key '{key}'"
    got = err.get("input")
    got_text = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"{where}'{key}': {err['msg']}{got_text}"


def _auto_branches_folded(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """An ``Auto[T]`` key fails as a union, one error per branch (``train.epochs.float``,
    ``train.epochs.literal['auto']``): keep the ``T`` branch's error, at the key itself."""
    out: list[Mapping[str, Any]] = []
    for err in errors:
        loc: Loc = tuple(err["loc"])
        model = _model_at(loc[:-2]) if len(loc) >= 2 else None
        if model is not None and isinstance(loc[-2], str) and is_auto_field(model, loc[-2]):
            if loc[-1] == "literal['auto']":
                continue
            err = {**err, "loc": loc[:-1], "msg": f"{err['msg']}, or 'auto'"}
        out.append(err)
    return out


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides; values are parsed as YAML (``1e-4`` → float)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError([f"--set {item!r}: expected KEY.PATH=VALUE"])
        dotted, _, text = item.partition("=")
        parts = [p for p in dotted.strip().split(".") if p]
        if not parts:
            raise ConfigError([f"--set {item!r}: empty key path"])
        model: type[BaseModel] | None = RunConfig
        node: dict[str, Any] = raw
        for depth, part in enumerate(parts):
            if (model is not None and part not in model.model_fields
                    and model.model_config.get("extra") != "allow"):  # allow: checked later
                hint = _nearest(part, model.model_fields)
                near = ".".join([*parts[:depth], hint]) if hint else ""
                suggestion = f"; did you mean '{near}'?" if hint else ""
                bad = ".".join(parts[: depth + 1])
                raise ConfigError([f"--set: unknown key '{bad}'{suggestion}"])
            if depth == len(parts) - 1:
                node[part] = yaml.safe_load(text) if text.strip() else None
                break
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
            model = _model_at(tuple(parts[: depth + 1]))
    return raw


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read, override and validate a config file. Raises :class:`ConfigError` on any problem."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(["file not found"], path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read: {exc}"], path) from None
    return parse_config(text, path, overrides)


def parse_config(text: str, path: Path | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}not valid YAML: {problem}"], path) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError([f"expected a mapping of sections at the top, got {kind}"], path)
    duplicates = _duplicate_keys(node, name=path.name if path else "config")
    if duplicates:
        raise ConfigError(duplicates, path)
    lines = _line_map(node) if node is not None else {}
    raw = apply_overrides(raw, overrides)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        overridden = _override_locs(overrides)
        problems = [_describe(err, lines, path, overridden)
                    for err in _auto_branches_folded(exc.errors())]
        raise ConfigError(problems, path) from None
    config._base_dir = (path.parent if path else Path.cwd()).resolve()
    _check_output_dir(config, lines, path, _override_locs(overrides))
    return config


def _check_output_dir(config: RunConfig, lines: Mapping[Loc, int], path: Path | None,
                      overridden: Mapping[Loc, str]) -> None:
    """``output_dir`` (and the run folder in it) must be a folder, or not exist yet."""
    where = (f"--set {overridden[('output_dir',)]}: " if ("output_dir",) in overridden else
             f"{path.name if path else 'config'}:{lines[('output_dir',)]}: "
             if ("output_dir",) in lines else "")
    run_dir = config.run_dir
    for folder in [run_dir, *run_dir.parents]:
        if folder.exists() and not folder.is_dir():
            raise ConfigError([f"{where}'output_dir': {folder} is a file, not a folder "
                               f"(the run folder is {run_dir})"], path)
