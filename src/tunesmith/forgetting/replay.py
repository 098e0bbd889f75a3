"""Replay: general examples mixed into the training split, answered by the base model itself.

The seed's memory buffer ("Store 10% original data → periodic replay") needs the original data,
which a user of an instruction-tuned model does not have. Self-distillation stands in for it:
the base model answers the shipped general prompts (``data/replay_prompts.json``, none of them
a probe item) greedily, and those replies become training targets. Fine-tuning on them pulls
the model towards what it already did on general requests, with no outside data.

The share is of the training split: ``replayed / (task + replayed) = share``. With more
replayed examples than prompts, the prompts repeat in order (a prompt seen twice weighs twice).
Replies cut off at ``max_new_tokens`` are left out: they would teach the model to stop
mid-sentence. The replies are cached beside the adapter, keyed by base model and prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError
from tunesmith.forgetting.sets import replay_prompts
from tunesmith.inference import build_instruction_prompts, generate, load_predictor
from tunesmith.models.chat import INSTRUCTION_FORMAT
from tunesmith.utils.hashing import sha256_json
from tunesmith.utils.io import read_json, write_json_atomic

TARGETS_FILE = "replay_targets.json"  # beside the adapter: the base model's replies, cached


def replay_count(n_task: int, share: float) -> int:
    """How many replayed examples make ``share`` of a split with ``n_task`` task examples
    (rounded to the nearest count, at least one)."""
    if not 0 < share < 1:
        raise ValueError(f"replay share must be in (0, 1), got {share}")
    return max(1, round(share * n_task / (1.0 - share)))


def replay_records(targets: list[dict[str, str]], count: int) -> list[QARecord]:
    """``count`` replay records from (prompt, reply) targets, repeating them in order."""
    if not targets:
        raise TunesmithError("train.forgetting.replay: the base model finished no reply within "
                             "replay.max_new_tokens; raise it")
    records = []
    for i in range(count):
        target = targets[i % len(targets)]
        records.append(QARecord(
            id=f"replay-{i:05d}", question=target["prompt"], contexts=[""],
            answer=target["reply"], kind="answerable",
            provenance={"format": INSTRUCTION_FORMAT, "source": "replay",
                        "target": "the base model's greedy reply"}))
    return records


def base_replies(config: RunConfig, base_model: str, prompts: list[str],
                 console: Console | None = None) -> list[dict[str, str]]:
    """The base model's greedy reply to each prompt, without those cut at the length limit."""
    limit = config.train.forgetting.replay.max_new_tokens
    predictor = load_predictor(config, None, "base", base_model=base_model)
    rendered = build_instruction_prompts(predictor.tokenizer, prompts)
    replies = generate(predictor.model, predictor.tokenizer, rendered, limit,
                       config.eval.batch_size, description="replay: base model's replies",
                       console=console)
    return [{"prompt": p, "reply": r.text} for p, r in zip(prompts, replies, strict=True)
            if r.text.strip() and r.tokens < limit]


def targets_fingerprint(base_model: str, prompts: list[str], max_new_tokens: int) -> str:
    """What the cached replies depend on: equal fingerprints, the same replies."""
    return sha256_json({"tunesmith": __version__, "base_model": base_model,
                        "prompts": prompts, "max_new_tokens": max_new_tokens})


def build_replay(config: RunConfig, base_model: str, n_task: int, work_dir: Path,
                 console: Console | None = None) -> tuple[list[QARecord], dict[str, Any]]:
    """The replay records for a training split of ``n_task`` examples, and what they are."""
    replay = config.train.forgetting.replay
    prompts = list(replay_prompts())
    fingerprint = targets_fingerprint(base_model, prompts, replay.max_new_tokens)
    cache = work_dir / TARGETS_FILE
    cached = read_json(cache) if cache.is_file() else {}
    if isinstance(cached, dict) and cached.get("fingerprint") == fingerprint:
        targets = list(cached["targets"])
    else:
        targets = base_replies(config, base_model, prompts, console)
        write_json_atomic(cache, {"fingerprint": fingerprint, "base_model": base_model,
                                  "prompts": len(prompts), "targets": targets})
    records = replay_records(targets, replay_count(n_task, replay.share))
    info = {"share": replay.share, "task_examples": n_task, "replayed_examples": len(records),
            "distinct_prompts": len(targets),
            "prompts_dropped_cut_off": len(prompts) - len(targets),
            "targets_file": str(cache)}
    return records, info
