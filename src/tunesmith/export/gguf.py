"""``tunesmith export --format gguf``: the merged model as one GGUF file for llama.cpp, Ollama or
LM Studio, checked by loading it back.

A base that came from a GGUF file (SmolLM2's package) goes back to one: the file tunesmith
dequantised at the start gives its tokenizer's llama.cpp pre-tokenizer name and its name as the
base model, the merged weights give the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.export.gguf_writer import QUANTS, write_gguf
from tunesmith.export.merge import ExportError, merge_tuned, publish, save_merged
from tunesmith.export.verify import verification_texts, verify_gguf
from tunesmith.utils.hashing import sha256_file
from tunesmith.utils.io import write_json_atomic
from tunesmith.utils.layout import RunLayout


def source_gguf(layout: RunLayout) -> Path | None:
    """The GGUF file the model stage read the base from, if it did."""
    try:
        details = json.loads(layout.manifest("model").read_text(encoding="utf-8"))["details"]
        path = Path(details["gguf"]["file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path.is_file() else None


def _field(path: Path | None, key: str) -> str | None:
    if path is None:
        return None
    import gguf

    field = gguf.GGUFReader(path).fields.get(key)
    return None if field is None else str(field.contents())


def export_gguf(config: RunConfig, quant: str = "f16", out: Path | None = None, *,
                verify: bool = True, console: Console | None = None) -> dict[str, Any]:
    """Merge the run's adapter, write ``runs/<name>/export/<name>-<quant>.gguf`` (or ``out``)
    and, with ``verify``, load it back and compare; returns the record also written beside the
    file (``.json``)."""
    if quant not in QUANTS:  # before the merge, which takes a while
        raise ExportError(f"--quant {quant!r}: choose one of {', '.join(QUANTS)}")
    layout = RunLayout.of(config)
    target = out or layout.gguf_export(quant)
    target.parent.mkdir(parents=True, exist_ok=True)
    merged = merge_tuned(config)
    source = source_gguf(layout)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.merged-", dir=target.parent))
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        save_merged(merged, work)
        t0 = time.perf_counter()
        info = write_gguf(work, tmp, quant, name=config.name,
                          source_pre=_field(source, "tokenizer.ggml.pre"),
                          base_name=_field(source, "general.name") or config.model.name,
                          console=console)
        t1 = time.perf_counter()
        check = None
        if verify:
            texts = verification_texts(merged.tokenizer, config.guard.system_message())
            check = verify_gguf(merged.model, merged.tokenizer, tmp, quant, texts)
        record = {
            "format": "gguf", "path": str(target), **info,
            "size_bytes": tmp.stat().st_size, "sha256": sha256_file(tmp),
            "method": merged.method, "base_model": merged.base_model,
            "source_gguf": str(source) if source else None, "notes": merged.notes,
            "verification": check,
            "timings_s": {"write": round(t1 - t0, 2),
                          "verify": round(time.perf_counter() - t1, 2)},
            "tunesmith_version": __version__, "gguf_version": _gguf_version(),
        }
        os.chmod(tmp, 0o644)
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    write_json_atomic(target.with_suffix(".json"), record)
    return record


def _gguf_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("gguf")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
