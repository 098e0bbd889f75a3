"""Training checkpoints: resume only from a checkpoint the same inputs made, and only from one
that was fully written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tunesmith.utils.dist import barrier, is_main_process
from tunesmith.utils.io import write_json_atomic


def prepare_checkpoints(checkpoint_dir: Path, fingerprint: str) -> str | None:
    """The checkpoint to resume from, if it was made by the same inputs; else start clean.

    In a multi-process run the main process clears and chooses; the others wait, then read."""
    if not is_main_process():
        barrier()
        return last_complete_checkpoint(checkpoint_dir, remove_incomplete=False)
    try:
        return _prepare_here(checkpoint_dir, fingerprint)
    finally:
        barrier()


def _prepare_here(checkpoint_dir: Path, fingerprint: str) -> str | None:
    marker = checkpoint_dir / "fingerprint.json"
    if checkpoint_dir.exists():
        same = _read_fingerprint(marker) == fingerprint
        if not same:
            shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(marker, {"fingerprint": fingerprint})
    return last_complete_checkpoint(checkpoint_dir)


def last_complete_checkpoint(checkpoint_dir: Path, remove_incomplete: bool = True
                             ) -> str | None:
    """The newest checkpoint that was fully written; half-written ones are removed.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer and RNG states, so a
    run killed while saving leaves a newest folder without it: resuming from that one fails.
    The Trainer writes that file in place, not renamed: one cut short is not valid JSON.
    """
    def step(path: Path) -> int:
        return int(path.name.rsplit("-", 1)[1]) if path.name.rsplit("-", 1)[1].isdigit() else -1

    for folder in sorted(checkpoint_dir.glob("checkpoint-*"), key=step, reverse=True):
        if _saved_step(folder / "trainer_state.json") == step(folder):
            return str(folder)
        if remove_incomplete:
            shutil.rmtree(folder)
    return None


def _saved_step(trainer_state: Path) -> int | None:
    try:
        return int(json.loads(trainer_state.read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_fingerprint(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
