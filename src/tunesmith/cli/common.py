"""What every command module shares: the Typer apps, the consoles, the common options, and
the rule that a user's mistake becomes a message and an exit code, never a traceback.

Each command group lives in its own module (``data_cmds``, ``methods_cmds``, ``plan_cmds``,
``guard_cmds``) and registers its commands on these apps; ``main`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from tunesmith.config import ConfigError, RunConfig, load_config
from tunesmith.errors import TunesmithError

app = typer.Typer(
    name="tunesmith",
    help="Fine-tune LLMs that answer from context, abstain when it is not enough, and prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Build and inspect Q&A datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="Path to tunesmith.yaml.")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key: --set train.learning_rate=1e-4 (repeatable)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Re-run stages even if up to date.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="Refuse the whole input for one bad line (default: skip and report it, "
    "keep the good ones, fail only when none is left).")]

T = TypeVar("T")


def guarded(action: Callable[[], T]) -> T:
    """Run a command body; turn user errors into a message and an exit code."""
    try:
        return action()
    except ConfigError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", markup=True, highlight=False,
                          soft_wrap=True)
        raise typer.Exit(2) from None
    except (TunesmithError, FileNotFoundError) as exc:  # every user-fixable error's base
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume")
        raise typer.Exit(130) from None


def out_path(out: Path, flag: str = "--out") -> Path:
    """``out`` with ``~`` expanded; a folder there is a user error naming the flag (the atomic
    rename would fail on it)."""
    out = out.expanduser()
    if out.is_dir():
        raise TunesmithError(f"{flag} {out}: is a folder; give a file path")
    if any(p.exists() and not p.is_dir() for p in out.parents):
        raise TunesmithError(f"{flag} {out}: a parent of it is a file, not a folder")
    return out


def load_run_config(config: Path, overrides: list[str] | None) -> RunConfig:
    return guarded(lambda: load_config(config, overrides or []))
