"""GGUF files as base models: dequantised once into an ordinary safetensors folder.

transformers reads a GGUF file (``from_pretrained(folder, gguf_file=...)``), but the model it
returns is marked "quantized with gguf": it refuses ``save_pretrained`` and the Trainer refuses
to train it. So the first use rebuilds it as a plain float32 model (same weights, same logits),
saves it with its tokenizer, chat template and generation config into tunesmith's cache,
named by the file's sha256, and every stage then loads that folder like any other.

Hashing the 98 MB SmolLM2 file takes ~0.1 s on a 2-core CPU, so the hash is not cached.
"""

from __future__ import annotations

import collections
import copy
import json
import shutil
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from tunesmith import __version__
from tunesmith.config.model import ModelConfig
from tunesmith.models.builtin import GGUFError, check_magic, gguf_source
from tunesmith.models.tiny import default_cache_root
from tunesmith.utils.hashing import sha256_file
from tunesmith.utils.io import publish_folder

# Bump when the conversion changes in a way that makes cached folders stale.
FORMAT_VERSION = "gguf-v1"
MARKER_FILE = "tunesmith_gguf.json"
# Keys of transformers' legacy mapping table that are not architectures, and encoder-decoders
# that AutoModelForCausalLM cannot load.
_NOT_CAUSAL_LMS = {"general", "tokenizer", "t5", "t5encoder", "umt5"}
# llama.cpp's names that transformers' legacy reader renames (modeling_gguf_pytorch_utils.py)
_LEGACY_RENAMES = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "gpt-oss": "gpt_oss",
                   "minimax-m2": "minimax_m2"}


def _require_gguf() -> ModuleType:
    try:
        import gguf
    except ImportError:
        raise GGUFError(
            "reading a .gguf base model needs the 'gguf' package, which is not installed; "
            "install it with `pip install gguf`"
        ) from None
    return gguf


def supported_architectures() -> set[str]:
    """GGUF ``general.architecture`` values transformers can load as a causal LM.

    transformers 5.x has two GGUF readers: the newer ``integrations.gguf`` (a few architectures,
    weights kept packed) and the legacy ``modeling_gguf_pytorch_utils`` (dequantised); a file
    goes to whichever knows its architecture.
    """
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    archs = set(GGUF_SUPPORTED_ARCHITECTURES)
    try:
        from transformers.integrations.gguf import GGUF_CONFIG_ARCHS  # transformers >= 5.2x
    except ImportError:
        pass
    else:
        archs |= set(GGUF_CONFIG_ARCHS)
    return archs - _NOT_CAUSAL_LMS


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _open_reader(path: Path) -> Any:
    """A ``GGUFReader`` over ``path``; anything that is not a whole GGUF file is a GGUFError."""
    gguf = _require_gguf()
    check_magic(path)
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, IndexError, KeyError, OSError, OverflowError) as exc:
        # numpy raises these on a short read: a truncated download or a partial copy
        raise GGUFError(f"{path}: cannot read this GGUF file; is it truncated? ({exc})") from None
    end = max((t.data_offset + t.n_bytes for t in reader.tensors), default=0)
    if end > path.stat().st_size:
        raise GGUFError(f"{path}: truncated GGUF file: its tensors need {end:,} bytes, "
                        f"the file has {path.stat().st_size:,}")
    return reader


def _quant_type(gguf: ModuleType, reader: Any) -> str:
    """The file type llama.cpp wrote ("Q4_1"), else the commonest tensor type."""
    file_type = _field(reader, "general.file_type")
    if file_type is not None:
        try:
            name: str = gguf.LlamaFileType(int(file_type)).name
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    counts = collections.Counter(t.tensor_type.name for t in reader.tensors)
    return counts.most_common(1)[0][0] if counts else "unknown"


def describe_gguf(path: Path) -> dict[str, Any]:
    """What the manifest records about a GGUF file: path, sha256, quantisation, architecture.

    Raises GGUFError, naming the file, for a file that is not GGUF, is truncated, or holds an
    architecture transformers cannot load as a causal LM.
    """
    path = Path(path)
    reader = _open_reader(path)
    architecture = str(_field(reader, "general.architecture") or "")
    supported = supported_architectures()
    if architecture not in supported and _LEGACY_RENAMES.get(architecture) not in supported:
        raise GGUFError(
            f"{path}: architecture {architecture or '(none)'!r} is not one transformers "
            f"{transformers.__version__} can load from GGUF as a causal LM; supported: "
            f"{', '.join(sorted(supported))}"
        )
    gguf = _require_gguf()
    return {
        "file": str(path),
        "sha256": sha256_file(path),
        "quant_type": _quant_type(gguf, reader),
        "architecture": architecture,
        "size_bytes": path.stat().st_size,
        "tensor_types": dict(collections.Counter(t.tensor_type.name for t in reader.tensors)),
    }


def _dequantised_kwargs() -> dict[str, Any]:
    """Ask the newer reader to unpack every weight (the legacy one always does)."""
    try:
        from transformers import GgufConfig  # transformers >= 5.2x
    except ImportError:
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


def load_dequantised(path: Path) -> tuple[PreTrainedModel, Any]:
    """The GGUF file as a plain float32 model (no quantization_config) and its tokenizer."""
    _require_gguf()
    folder, name = str(path.parent), path.name
    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32, local_files_only=True,
            **_dequantised_kwargs())
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise GGUFError(f"{path}: transformers could not load this GGUF file: {exc}") from None
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the Trainer refuses a model that carries one
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)  # tied weights are copied twice
    model.generation_config = copy.deepcopy(loaded.generation_config)
    model.eval()
    return model, tokenizer


def _is_complete(folder: Path) -> bool:
    marker = folder / MARKER_FILE
    if not marker.is_file():
        return False
    return bool(json.loads(marker.read_text()).get("format") == FORMAT_VERSION)


def converted_folder(sha256: str, cache_root: Path) -> Path:
    return Path(cache_root) / "gguf" / sha256[:16]


def convert_gguf(path: Path, cache_root: Path) -> Path:
    """The safetensors folder for GGUF file ``path``, converting it on first use.

    The conversion happens in a temporary sibling renamed into place with its marker
    (``tunesmith_gguf.json``) already written: an interrupted conversion leaves no half model.
    """
    target = converted_folder(sha256_file(path), cache_root)  # ~0.1 s for 100 MB
    if _is_complete(target):
        return target  # without parsing the file again (GGUFReader: ~2 s for SmolLM2)
    info = describe_gguf(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        t0 = time.perf_counter()
        model, tokenizer = load_dequantised(Path(path))
        t1 = time.perf_counter()
        model.save_pretrained(tmp)  # safetensors; config.json without quantization_config
        tokenizer.save_pretrained(tmp)
        marker = {
            "format": FORMAT_VERSION,
            "source_file": info["file"],
            "sha256": info["sha256"],
            "quant_type": info["quant_type"],
            "architecture": info["architecture"],
            "model_type": model.config.model_type,
            "tensor_types": info["tensor_types"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "tunesmith_version": __version__,
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                         "gguf": _gguf_version()},
            "timings_s": {"load_dequantise": round(t1 - t0, 2),
                          "save": round(time.perf_counter() - t1, 2)},
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2))  # written last
        publish_folder(tmp, target, _is_complete)  # an older format's folder is replaced
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _gguf_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("gguf")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def resolve_gguf_model(model_cfg: ModelConfig) -> Path | None:
    """The converted folder for a built-in name or ``.gguf`` path; None for other names."""
    source = gguf_source(model_cfg.name)
    if source is None:
        return None
    return convert_gguf(source, default_cache_root(model_cfg))


def gguf_manifest(model_cfg: ModelConfig) -> dict[str, Any] | None:
    """The model stage's record of its GGUF source (file, sha256, quant type), or None.

    Read from the converted folder's marker, so the file is not parsed a second time.
    """
    source = gguf_source(model_cfg.name)
    if source is None:
        return None
    folder = converted_folder(sha256_file(source), default_cache_root(model_cfg))
    marker = json.loads((folder / MARKER_FILE).read_text())
    return {"file": str(source), "sha256": marker["sha256"], "quant_type": marker["quant_type"],
            "architecture": marker["architecture"], "converted_folder": str(folder)}
