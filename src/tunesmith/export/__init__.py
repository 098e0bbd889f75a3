"""Export the tuned model out of tunesmith: ``merged`` (a transformers folder with a model card)
or ``gguf`` (one file for llama.cpp and friends). Each format registers once in
:data:`EXPORTERS`; ``tunesmith export --format NAME`` looks it up there.

    from tunesmith.export import export_model
    record = export_model(config, "gguf", quant="q8_0")   # runs/<name>/export/<name>-q8_0.gguf

A layer beside the pipeline: it imports config, utils, models, methods, inference and guard.
See docs/export.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.export.gguf import export_gguf
from tunesmith.export.gguf_writer import QUANTS, write_gguf
from tunesmith.export.merge import ExportError, merge_tuned
from tunesmith.export.merged import export_merged
from tunesmith.registry import Registry

Exporter = Callable[..., dict[str, Any]]
EXPORTERS = Registry[Exporter]("export format")


@EXPORTERS.register("merged")
def _merged(config: RunConfig, out: Path | None, quant: str | None, verify: bool,
            console: Console | None) -> dict[str, Any]:
    if quant is not None:
        raise ExportError("--quant applies to --format gguf; a merged folder is float32")
    return export_merged(config, out)


@EXPORTERS.register("gguf")
def _gguf(config: RunConfig, out: Path | None, quant: str | None, verify: bool,
          console: Console | None) -> dict[str, Any]:
    return export_gguf(config, quant or "f16", out, verify=verify, console=console)


def export_model(config: RunConfig, fmt: str, *, quant: str | None = None,
                 out: Path | None = None, verify: bool = True,
                 console: Console | None = None) -> dict[str, Any]:
    """Export the run's tuned model as ``fmt`` (a registered format); returns the record."""
    return EXPORTERS.get(fmt)(config, out, quant, verify, console)


__all__ = ["EXPORTERS", "QUANTS", "ExportError", "export_gguf", "export_merged", "export_model",
           "merge_tuned", "write_gguf"]
