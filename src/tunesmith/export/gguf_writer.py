"""A LLaMA-family model folder (transformers layout) written as one GGUF file with the ``gguf``
package's ``GGUFWriter``, as llama.cpp's ``convert_hf_to_gguf.py`` writes it (``LlamaModel``):

- tensor names through gguf's own name map (``model.layers.3.self_attn.q_proj`` ->
  ``blk.3.attn_q``), the map transformers' GGUF reader inverts;
- Q and K rows permuted from transformers' rotate-half RoPE layout to llama.cpp's interleaved
  one (``LlamaModel.permute``; the reader undoes it, ``LlamaTensorProcessor``);
- no ``output.weight`` when the LM head is tied to the embedding (the reader ties it back);
- 1-D tensors and norms in F32; every other weight in the file type: F32, F16, or Q8_0 (a row
  whose length Q8_0's 32-value blocks do not divide falls back to F16, as in llama.cpp);
- the hyperparameters under ``llama.*`` and the tokenizer (``gguf_vocab``).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from tunesmith.export.gguf_vocab import add_tokenizer
from tunesmith.export.merge import ExportError
from tunesmith.utils.progress import make_progress

QUANTS = ("f32", "f16", "q8_0")  # what --quant takes


def _types(quant: str) -> tuple[Any, Any]:
    """(llama.cpp file type, tensor type of the weights) for ``quant``."""
    import gguf

    table = {"f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
             "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
             "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0)}
    if quant not in table:
        raise ExportError(f"--quant {quant!r}: choose one of {', '.join(QUANTS)}")
    return table[quant]


def rope_theta(config: Any) -> float:
    params = getattr(config, "rope_parameters", None) or {}
    return float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def check_llama(config: Any) -> None:
    """Refuse, saying why, a model the ``llama`` GGUF architecture cannot hold as it is."""
    if getattr(config, "model_type", None) != "llama":
        raise ExportError(f"GGUF export writes the LLaMA family (model_type 'llama': LLaMA, "
                          f"SmolLM2, tunesmith's built-in model); this model is "
                          f"{getattr(config, 'model_type', None)!r}")
    if getattr(config, "hidden_act", "silu") != "silu":
        raise ExportError(f"GGUF 'llama' uses SiLU; this model's hidden_act is "
                          f"{config.hidden_act!r}")
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ExportError("this LLaMA has attention or MLP biases, which transformers' GGUF "
                          "reader would drop; not exported")
    # transformers 5 names it rope_parameters; before, rope_scaling (None when unscaled)
    params = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling",
                                                                 None) or {}
    kind = params.get("rope_type", params.get("type", "default"))
    if kind != "default":
        raise ExportError(f"RoPE scaling {kind!r} is not written (transformers' GGUF reader "
                          "ignores llama.rope.scaling); not exported")


def permute(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp's ``LlamaModel.permute`` (convert_hf_to_gguf.py): rotate-half -> interleaved."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def gguf_name(name_map: Any, hf_name: str) -> str | None:
    name: str | None = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    return name


def gguf_tensors(state: Mapping[str, torch.Tensor], config: Any) -> Iterator[tuple[str,
                                                                                   np.ndarray]]:
    """(GGUF name, float32 array in llama.cpp's layout) for each tensor the file holds."""
    import gguf

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    unknown = []
    for hf_name, tensor in state.items():
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # absent output.weight: the reader ties the head to token_embd
        new = gguf_name(name_map, hf_name)
        if new is None:
            unknown.append(hf_name)
            continue
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = permute(data, heads, heads)
        elif hf_name.endswith("k_proj.weight"):
            data = permute(data, heads, kv_heads)
        yield new, data
    if unknown:
        raise ExportError(f"tensors with no GGUF 'llama' name: {', '.join(unknown[:5])}"
                          f"{' ...' if len(unknown) > 5 else ''}")


def store(name: str, data: np.ndarray, quant: str) -> tuple[np.ndarray, Any]:
    """(bytes or array to write, its tensor type): llama.cpp's choice for this tensor."""
    import gguf

    _, weight_type = _types(quant)
    qtype = (gguf.GGMLQuantizationType.F32 if data.ndim <= 1 or name.endswith("_norm.weight")
             else weight_type)
    try:
        return gguf.quants.quantize(data, qtype), qtype
    except gguf.QuantError:  # a row Q8_0's 32-value blocks do not divide
        qtype = gguf.GGMLQuantizationType.F16
        return gguf.quants.quantize(data, qtype), qtype


def load_state(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{folder}: no .safetensors weights")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(load_file(str(file)))
    return state


def write_gguf(folder: Path, path: Path, quant: str, *, name: str,
               source_pre: str | None = None, base_name: str | None = None,
               console: Console | None = None) -> dict[str, Any]:
    """Write the model in ``folder`` (``save_pretrained`` layout, tokenizer included) to
    ``path`` as a GGUF file of type ``quant``; returns what went in."""
    import gguf
    from transformers import AutoConfig, AutoTokenizer

    file_type, _ = _types(quant)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    check_llama(config)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // \
        config.num_attention_heads
    writer = gguf.GGUFWriter(str(path), "llama")
    try:
        writer.add_type("model")
        writer.add_name(name)
        if base_name:
            writer.add_base_model_count(1)
            writer.add_base_model_name(0, base_name)
        writer.add_context_length(config.max_position_embeddings)
        writer.add_embedding_length(config.hidden_size)
        writer.add_block_count(config.num_hidden_layers)
        writer.add_feed_forward_length(config.intermediate_size)
        writer.add_head_count(config.num_attention_heads)
        writer.add_head_count_kv(config.num_key_value_heads)
        writer.add_rope_freq_base(rope_theta(config))
        writer.add_layer_norm_rms_eps(config.rms_norm_eps)
        writer.add_vocab_size(config.vocab_size)
        writer.add_rope_dimension_count(head_dim)  # transformers reads it back as head_dim
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        pre = add_tokenizer(writer, folder, tokenizer, config.vocab_size, source_pre)
        state = load_state(folder)
        counts: collections.Counter[str] = collections.Counter()
        with make_progress(console) as progress:
            task = progress.add_task(f"writing GGUF ({quant})", total=len(state), info="")
            for new, data in gguf_tensors(state, config):
                stored, qtype = store(new, data, quant)
                writer.add_tensor(new, stored, raw_dtype=qtype)
                counts[qtype.name] += 1
                progress.update(task, advance=1, info=new)
            progress.update(task, completed=len(state))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    return {"quant": quant, "architecture": "llama", "tokenizer_pre": pre,
            "tensor_types": dict(counts), "tensors": sum(counts.values()),
            "vocab_size": config.vocab_size}
