"""``manifest.json``: what a stage was given, what it made, with which versions, how long.

A stage whose recorded config hash and input hashes equal the current ones, and whose outputs
are still there unchanged, is up to date and is skipped.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.utils.hashing import sha256_tree
from tunesmith.utils.io import write_json_atomic

_PACKAGES = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "tokenizers")


def package_versions() -> dict[str, str]:
    versions = {"tunesmith": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hash_outputs(stage_dir: Path, outputs: list[str]) -> dict[str, str]:
    return {name: sha256_tree(stage_dir / name) for name in outputs if (stage_dir / name).exists()}


@dataclass
class Manifest:
    stage: str
    config_hash: str
    inputs: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=package_versions)
    started: str = ""
    seconds: float = 0.0

    def write(self, stage_dir: Path) -> None:
        write_json_atomic(stage_dir / "manifest.json", self.__dict__)

    @classmethod
    def read(cls, stage_dir: Path) -> Manifest | None:
        try:
            raw = json.loads((stage_dir / "manifest.json").read_text(encoding="utf-8"))
            return cls(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def matches(self, config_hash: str, inputs: dict[str, str], stage_dir: Path) -> bool:
        if self.config_hash != config_hash or self.inputs != inputs:
            return False
        if not all(Path(p).exists() for p in self.details.get("requires_paths", [])):
            return False  # e.g. a cached model deleted since
        return hash_outputs(stage_dir, list(self.outputs)) == self.outputs


class Timer:
    def __enter__(self) -> Timer:
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = round(time.perf_counter() - self._t0, 3)
