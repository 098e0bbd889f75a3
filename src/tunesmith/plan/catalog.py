"""Model shapes and accelerators, from data files shipped with tunesmith (no download needed).

An estimate needs only a model's shape (width, depth, heads, vocabulary), never its weights:
the catalog holds well-known architectures, and any Hugging Face ``config.json`` (a local
folder, a cached Hub name, or the built-in ``tiny`` settings) gives the same shape.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tunesmith.errors import TunesmithError


class CatalogError(TunesmithError):
    """An unknown model or GPU name, or a catalog file with a bad entry."""


@dataclass(frozen=True)
class ModelShape:
    """What memory and FLOPs depend on: a LLaMA-style decoder's dimensions."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool = False
    qkv_bias: bool = False
    head_dim: int | None = None
    source: str = ""

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.dim_head

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.dim_head

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each projection in one decoder layer, by its usual module name."""
        h, i = self.hidden, self.intermediate
        return {"q_proj": (h, self.q_dim), "k_proj": (h, self.kv_dim), "v_proj": (h, self.kv_dim),
                "o_proj": (self.q_dim, h), "gate_proj": (h, i), "up_proj": (h, i),
                "down_proj": (i, h)}

    @property
    def layer_linear_params(self) -> int:
        return sum(a * b for a, b in self.linear_shapes().values())

    @property
    def layer_params(self) -> int:
        bias = self.q_dim + 2 * self.kv_dim if self.qkv_bias else 0
        return self.layer_linear_params + 2 * self.hidden + bias  # two RMSNorm weights

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def head_params(self) -> int:
        return 0 if self.tied else self.vocab * self.hidden

    @property
    def params(self) -> int:
        return (self.layers * self.layer_params + self.embedding_params + self.head_params
                + self.hidden)

    @property
    def matmul_params(self) -> int:
        """Parameters that take part in a matrix product per token (not the embedding lookup)."""
        return self.layers * self.layer_linear_params + self.vocab * self.hidden

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "params": self.params}


@dataclass(frozen=True)
class GPU:
    key: str
    label: str
    memory_gib: float
    tflops_bf16: float
    tflops_fp32: float
    bf16: bool
    usd_per_hour: float

    def peak_tflops(self, precision: str) -> float:
        return self.tflops_fp32 if precision == "fp32" else self.tflops_bf16


def _read_yaml(path: Path | None, packaged: str) -> dict[str, Any]:
    if path is None:
        text = resources.files("tunesmith.plan").joinpath(f"data/{packaged}").read_text("utf-8")
        where = f"tunesmith/plan/data/{packaged}"
    else:
        if not path.is_file():
            raise CatalogError(f"{path}: no such catalog file")
        text, where = path.read_text("utf-8"), str(path)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected a mapping of name -> entry")
    return {"__where__": where, **data}


def _closest(name: str, known: list[str], kind: str) -> CatalogError:
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return CatalogError(f"unknown {kind} {name!r}; {hint}known: {', '.join(known)}")


@cache
def model_catalog() -> dict[str, ModelShape]:
    data = _read_yaml(None, "models.yaml")
    data.pop("__where__")
    out = {}
    for key, entry in data.items():
        fields = {k: v for k, v in entry.items() if k != "hub"}
        out[key] = ModelShape(name=key, source=f"catalog ({entry.get('hub', key)})", **fields)
    return out


def load_gpus(path: Path | None = None) -> dict[str, GPU]:
    """The GPU catalog: the packaged one, or ``path`` with the same keys (edited prices)."""
    data = _read_yaml(path, "gpus.yaml")
    where = data.pop("__where__")
    gpus = {}
    for key, entry in data.items():
        try:
            gpus[key] = GPU(key=key, **entry)
        except TypeError as exc:
            raise CatalogError(
                f"{where}: entry {key!r}: {exc}; expected keys label, memory_gib, tflops_bf16, "
                "tflops_fp32, bf16, usd_per_hour") from None
    return gpus


def get_gpu(name: str, path: Path | None = None) -> GPU:
    gpus = load_gpus(path)
    key = name.lower().replace(" ", "").replace("_", "-")
    if key not in gpus:
        raise _closest(name, sorted(gpus), "GPU")
    return gpus[key]


def shape_from_hf_config(config: Any, name: str, source: str) -> ModelShape:
    """A ``transformers`` config (LLaMA, Mistral, Qwen2, Phi-3 style) as a :class:`ModelShape`."""
    try:
        heads = int(config.num_attention_heads)
        return ModelShape(
            name=name, hidden=int(config.hidden_size), layers=int(config.num_hidden_layers),
            heads=heads, kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
            intermediate=int(config.intermediate_size), vocab=int(config.vocab_size),
            tied=bool(getattr(config, "tie_word_embeddings", False)),
            qkv_bias=bool(getattr(config, "attention_bias", False)
                          or config.model_type in {"qwen2"}),
            head_dim=getattr(config, "head_dim", None), source=source)
    except AttributeError as exc:
        raise CatalogError(f"{source}: not a decoder config tunesmith can size ({exc})") from None


def resolve_model(name: str) -> ModelShape:
    """A catalog name, a local folder with a ``config.json``, or a cached Hub name."""
    catalog = model_catalog()
    key = name.lower()
    if key in catalog:
        return catalog[key]
    from transformers import AutoConfig

    path = Path(name).expanduser()
    try:
        config = AutoConfig.from_pretrained(str(path) if path.exists() else name,
                                            local_files_only=True)
    except (OSError, ValueError) as exc:
        err = _closest(name, sorted(catalog), "model")
        raise CatalogError(f"{err}; nor is it a local folder or a cached Hub model ({exc})"
                           ) from None
    return shape_from_hf_config(config, name, f"config.json of {name}")


def tiny_shape(tiny: Any) -> ModelShape:
    """The built-in model's shape from its config section (``model.tiny``), before it is built.

    Mirrors :func:`tunesmith.models.tiny.build_llama`: SwiGLU width 8/3 x hidden rounded up to
    64, tied embeddings, one KV head per query head. The trained tokenizer may hold a few
    tokens fewer than ``vocab_size``; a built model's own ``config.json`` is exact.
    """
    intermediate = tiny.intermediate_size or 64 * math.ceil(8 * tiny.hidden_size / 3 / 64)
    return ModelShape(name="tiny", hidden=tiny.hidden_size, layers=tiny.layers, heads=tiny.heads,
                      kv_heads=tiny.heads, intermediate=intermediate, vocab=tiny.vocab_size,
                      tied=True, source="built-in tiny model (model.tiny)")
