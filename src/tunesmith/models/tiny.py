"""The built-in offline model: a small LLaMA with a byte-level BPE trained on the corpus.

No machine that builds or tests tunesmith reaches a model hub, so the quickstart and the tests
need a causal LM built here. It is a plain language model pre-trained on the corpus text only
(never on the chat format), saved with ``save_pretrained`` and loaded back through the
``Auto*`` classes like any Hub model, so every later stage exercises the real code paths.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import tokenizers
import torch
import transformers
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from tunesmith import __version__
from tunesmith.config.guard import DEFAULT_ABSTAIN_TEXT
from tunesmith.config.model import ModelConfig, TinyModelConfig
from tunesmith.errors import TunesmithError
from tunesmith.models import chat
from tunesmith.utils.io import publish_folder

# Bump when the build changes in a way that makes cached models stale.
FORMAT_VERSION = "tiny-v2"
MARKER_FILE = "tunesmith-tiny.json"
# Strings the fine-tuned model must emit often: seen often enough by BPE to become a few merged
# tokens instead of a dozen bytes. Ordinary text, never special tokens (they must be generated).
_FREQUENT_STRINGS = (DEFAULT_ABSTAIN_TEXT, "INSUFFICIENT_CONTEXT", "Context:", "Question:")
_FREQUENT_REPEATS = 64
_WARMUP_STEPS = 10
_MIN_LR_RATIO = 0.1  # cosine decays to 10% of the peak (Chinchilla, nanoGPT)


def train_tokenizer(
    texts: Sequence[str], vocab_size: int, *, model_max_length: int = 1024
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts``; any string round-trips exactly through it.

    Byte-level pre-tokenisation means there is no unknown character, and the role markers are
    special tokens so that each is one id the model cannot confuse with text.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(chat.SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Both at a line start (an answer) and after a space (inside a sentence).
    frequent = [" ".join(_FREQUENT_STRINGS), "\n".join(_FREQUENT_STRINGS)] * _FREQUENT_REPEATS
    bpe.train_from_iterator([*texts, *frequent], trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=chat.BOS_TOKEN,
        eos_token=chat.EOS_TOKEN,
        pad_token=chat.PAD_TOKEN,
        unk_token=chat.UNK_TOKEN,
        extra_special_tokens=[chat.SYSTEM_TOKEN, chat.USER_TOKEN, chat.ASSISTANT_TOKEN],
        chat_template=chat.CHAT_TEMPLATE,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,  # " ." must decode as " .", not "."
    )


def build_llama(cfg: TinyModelConfig, tokenizer: Any, *, seed: int = 0) -> LlamaForCausalLM:
    """A randomly initialised LLaMA shaped by ``cfg``, its vocabulary sized to ``tokenizer``."""
    # LLaMA's SwiGLU keeps the parameter count of a 4x MLP with 2/3 of the width.
    intermediate = cfg.intermediate_size or 64 * math.ceil(8 * cfg.hidden_size / 3 / 64)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=intermediate,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        max_position_embeddings=cfg.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        rms_norm_eps=1e-5,
    )
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's RNG
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model


def _blocks(tokenizer: Any, texts: Sequence[str], seq_len: int) -> torch.Tensor:
    """The corpus as one token stream (``<s> doc </s>`` ...) cut into ``seq_len`` blocks.

    The last block ends at the stream's end (overlapping its neighbour) so no text is dropped;
    a stream shorter than ``seq_len`` becomes one shorter block.
    """
    stream: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        stream += [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]
    seq_len = min(seq_len, len(stream))
    starts = list(range(0, len(stream) - seq_len + 1, seq_len))
    if starts[-1] + seq_len < len(stream):
        starts.append(len(stream) - seq_len)
    data = torch.tensor(stream, dtype=torch.long)
    return torch.stack([data[s : s + seq_len] for s in starts])


def _batches(n_blocks: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless batches of block indices: one seeded permutation per epoch."""
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, n_blocks)
    pending = torch.empty(0, dtype=torch.long)
    while True:
        while len(pending) < batch_size:
            pending = torch.cat([pending, torch.randperm(n_blocks, generator=generator)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def _lr_factor(step: int, progress: float) -> float:
    """Short linear warmup (in steps), then cosine decay over ``progress`` in [0, 1]."""
    warmup = min(1.0, (step + 1) / _WARMUP_STEPS)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return warmup * (_MIN_LR_RATIO + (1.0 - _MIN_LR_RATIO) * cosine)


def pretrain(
    model: LlamaForCausalLM,
    tokenizer: Any,
    texts: Sequence[str],
    cfg: TinyModelConfig,
    seed: int,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Causal-LM pre-training on the corpus text, fp32, until the time or step budget ends.

    The budget is whichever of ``pretrain_minutes`` and ``pretrain_max_steps`` ends first (0
    minutes: no steps). With a step limit, the cosine schedule runs on step / max_steps, so the
    result does not depend on how fast the machine is (the time budget only cuts an overrun
    short). Without one, it runs on elapsed / budget and reaches its floor exactly when the
    budget ends. Returns one ``{"step", "loss"}`` per step.
    """
    budget_s = cfg.pretrain_minutes * 60.0
    max_steps = cfg.pretrain_max_steps
    blocks = _blocks(tokenizer, texts, cfg.pretrain_seq_len)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.pretrain_learning_rate,
        betas=(0.9, 0.95),  # LLaMA / GPT-3 pre-training values
    )
    model.train()
    history: list[dict[str, float]] = []
    columns = (
        TextColumn("pre-training tiny model"),
        BarColumn(),
        TextColumn("step {task.fields[step]}  loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with torch.random.fork_rng(devices=[]), Progress(*columns, disable=not progress) as bar:
        torch.manual_seed(seed)
        task = bar.add_task("pretrain", total=1.0, step=0, loss="-")  # total: the budget
        start = time.perf_counter()
        for step, index in enumerate(_batches(len(blocks), cfg.pretrain_batch_size, seed)):
            elapsed = time.perf_counter() - start
            time_fraction = elapsed / budget_s if budget_s > 0 else 1.0
            # with a step limit the schedule follows steps alone, so the same config gives the
            # same model on any machine; the time budget then only stops a run that overruns
            fraction = step / max_steps if max_steps is not None else time_fraction
            if fraction >= 1.0 or time_fraction >= 1.0:
                break
            for group in optimizer.param_groups:
                group["lr"] = cfg.pretrain_learning_rate * _lr_factor(step, fraction)
            batch = blocks[index]
            loss = model(input_ids=batch, labels=batch, use_cache=False).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            history.append({"step": step + 1, "loss": float(loss.item())})
            bar.update(task, completed=fraction, step=step + 1, loss=f"{loss.item():.3f}")
        bar.update(task, completed=1.0)
    model.eval()
    return history


def default_cache_root(cfg: ModelConfig) -> Path:
    """``model.cache_dir``, else ``$TUNESMITH_CACHE``, else ``~/.cache/tunesmith``."""
    root = cfg.cache_dir or os.environ.get("TUNESMITH_CACHE") or "~/.cache/tunesmith"
    return Path(root).expanduser()


def _content_hash(texts: Sequence[str], cfg: TinyModelConfig, seed: int) -> str:
    digest = hashlib.sha256()
    for part in (FORMAT_VERSION, __version__, cfg.model_dump_json(), str(seed)):
        digest.update(part.encode() + b"\0")
    for text in texts:  # length-prefixed so that ["ab", "c"] and ["a", "bc"] differ
        digest.update(f"{len(text)}:".encode() + text.encode())
    return digest.hexdigest()


def _is_complete(folder: Path) -> bool:
    return (folder / MARKER_FILE).is_file()


def build_tiny_model(
    texts: Sequence[str],
    cfg: TinyModelConfig,
    *,
    seed: int,
    cache_root: Path,
    progress: bool = True,
) -> Path:
    """Build (or find in the cache) the tiny model for this corpus, config and seed.

    The folder is named by a content hash, so a changed corpus or config builds a new model and
    an unchanged one is reused. The build happens in a temporary sibling and is renamed into
    place with its marker file already written: an interrupted build leaves no half model.
    """
    if not texts:
        raise TunesmithError("build_tiny_model needs at least one text to train on")
    content_hash = _content_hash(texts, cfg, seed)
    target = Path(cache_root) / "tiny" / content_hash[:16]
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        t0 = time.perf_counter()
        tokenizer = train_tokenizer(
            texts, cfg.vocab_size, model_max_length=cfg.max_position_embeddings
        )
        t1 = time.perf_counter()
        model = build_llama(cfg, tokenizer, seed=seed)
        history = pretrain(model, tokenizer, texts, cfg, seed, progress)
        t2 = time.perf_counter()
        model.save_pretrained(tmp)  # safetensors is the default
        tokenizer.save_pretrained(tmp)
        marker = {
            "format": FORMAT_VERSION,
            "hash": content_hash,
            "seed": seed,
            "config": cfg.model_dump(mode="json"),
            "n_texts": len(texts),
            "vocab_size": len(tokenizer),
            "parameters": sum(p.numel() for p in model.parameters()),
            "pretrain": history,
            "timings_s": {"tokenizer": t1 - t0, "pretrain": t2 - t1},
            "versions": {
                "tunesmith": __version__,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__,
                "python": platform.python_version(),
            },
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2))  # written last
        publish_folder(tmp, target, _is_complete)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
