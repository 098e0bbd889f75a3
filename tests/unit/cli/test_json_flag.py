"""``--json`` means one thing on every command: a flag that makes stdout hold JSON alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from tunesmith.cli.main import app

# servers and the one command whose output is always JSON take no --json
WITHOUT_JSON = {"serve", "ui", "answer"}


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "commands", None):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_every_json_option_is_a_boolean_flag() -> None:
    commands = _commands(typer.main.get_command(app))
    assert "compare" in commands and "data build" in commands
    for name, command in commands.items():
        options = [p for p in command.params if "--json" in getattr(p, "opts", [])]
        if name in WITHOUT_JSON:
            assert not options, name
            continue
        assert options, f"{name}: no --json"
        assert getattr(options[0], "is_flag", False), name
    out = [p for p in commands["compare"].params if "--out" in getattr(p, "opts", [])]
    assert out and not out[0].is_flag  # compare still writes the rows to a file on request


def test_init_with_json_prints_what_it_wrote(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["init", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"wrote": str(tmp_path / "tunesmith.yaml")}
