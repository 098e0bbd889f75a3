"""The tokenizer inside a GGUF file, written the way llama.cpp's ``convert_hf_to_gguf.py`` does
for a byte-level BPE (``_set_vocab_gpt2``): the tokens by id with their types, the merges, the
special token ids, add-BOS/EOS and the chat template (the ``gguf`` package's ``SpecialVocab``
reads the last four from the saved folder, as llama.cpp's converter does).

Only byte-level BPE vocabularies (GPT-2, SmolLM2, LLaMA 3, tunesmith's built-in model) are
written; a SentencePiece one (LLaMA 2) is refused with a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunesmith.export.merge import ExportError


def _backend(tokenizer: Any) -> dict[str, Any]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError("GGUF export needs a fast (tokenizers) tokenizer")
    data: dict[str, Any] = json.loads(backend.to_str())
    return data


def _byte_level(part: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not part:
        return []
    parts = part.get("pretokenizers") or part.get("decoders") or [part]
    return [p for p in parts if p.get("type") == "ByteLevel"]


def check_byte_level(tokenizer: Any) -> None:
    data = _backend(tokenizer)
    kind = (data.get("model") or {}).get("type")
    if kind != "BPE" or not _byte_level(data.get("pre_tokenizer")):
        raise ExportError(f"GGUF export writes byte-level BPE tokenizers (GPT-2 style, as "
                          f"SmolLM2 and LLaMA 3 have); this one is {kind or 'unknown'} with "
                          f"pre-tokenizer {(data.get('pre_tokenizer') or {}).get('type')}")


def tokenizer_pre(tokenizer: Any, source_pre: str | None = None) -> str:
    """llama.cpp's pre-tokenizer name (``tokenizer.ggml.pre``): the one the base's own GGUF
    file gave, else read off the tokenizer (GPT-2's regex, or a split regex transformers'
    GGUF reader knows by name)."""
    if source_pre:
        return source_pre
    pre = _backend(tokenizer).get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
        return "gpt-2"
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

    splits = [p for p in pre.get("pretokenizers") or [] if p.get("type") == "Split"]
    pattern = (splits[0].get("pattern") or {}).get("Regex") if len(splits) == 1 else None
    for name, regex in GGUF_PRE_TOKENIZER_SPLITS.items():
        if pattern == regex:
            return name
    raise ExportError("cannot tell llama.cpp's pre-tokenizer name (tokenizer.ggml.pre) for "
                      f"this tokenizer's pre-tokenizer {pre.get('type')!r}")


def _looks_special(token: str) -> bool:
    # llama.cpp's does_token_look_special, for added tokens not marked special
    return (token in ("<pad>", "<mask>") or (token.startswith("<|") and token.endswith("|>"))
            or (token.startswith("<unused") and token.endswith(">")))


def vocab(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Every token id below ``vocab_size`` with its GGUF token type (llama.cpp's
    ``get_vocab_base``): an id the tokenizer lacks (padded embeddings) is ``[PAD<id>]``."""
    import gguf

    reverse = {i: t for t, i in tokenizer.get_vocab().items()}
    if max(reverse) >= vocab_size:
        raise ExportError(f"the tokenizer has ids up to {max(reverse)}; the model's embedding "
                          f"has {vocab_size} rows")
    added = tokenizer.get_added_vocab()
    decoder = tokenizer.added_tokens_decoder
    tokens: list[str] = []
    types: list[int] = []
    for i in range(vocab_size):
        token = reverse.get(i)
        if token is None:
            tokens.append(f"[PAD{i}]")
            types.append(int(gguf.TokenType.UNUSED))
        elif token in added:
            special = decoder[i].special if i in decoder else False
            types.append(int(gguf.TokenType.CONTROL if special or _looks_special(token)
                             else gguf.TokenType.USER_DEFINED))
            tokens.append(token)
        else:
            tokens.append(token)
            types.append(int(gguf.TokenType.NORMAL))
    return tokens, types


def add_tokenizer(writer: Any, folder: Path, tokenizer: Any, vocab_size: int,
                  source_pre: str | None = None) -> str:
    """Write the tokenizer of the saved model ``folder`` into ``writer``; returns the pre name."""
    import gguf

    check_byte_level(tokenizer)
    pre = tokenizer_pre(tokenizer, source_pre)
    tokens, types = vocab(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(folder, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise ExportError(f"{folder}: no BPE merges in tokenizer.json")
    # what the tokenizer really does when it encodes, not what a config file claims
    probe = tokenizer("a")["input_ids"]
    special.add_special_token = {
        "bos": tokenizer.bos_token_id is not None and probe[:1] == [tokenizer.bos_token_id],
        "eos": tokenizer.eos_token_id is not None and probe[-1:] == [tokenizer.eos_token_id],
    }
    special.add_to_gguf(writer, quiet=True)
    return pre
