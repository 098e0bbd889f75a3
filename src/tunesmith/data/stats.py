"""Dataset optimisation (the seed's step 5): answerability balance, difficulty grading and
balance, token lengths.

**Answerability classes** (seed: "Answerable: 65-75%, Unanswerable: 20-25%, Ambiguous: 5-10%"):
``answerable`` holds the kinds answerable and multihop, ``unanswerable`` the unanswerable kind,
``ambiguous`` the kinds ambiguous and adversarial (a context that contradicts itself or a
question that misleads: both test whether the model notices).

**Difficulty grading**, from features of the record (:func:`grade_difficulty`):

- ``multihop``: two or more contexts, or the multihop kind;
- ``inferential``: a why/how question (not how many/much/long/...), an ambiguous or adversarial
  record, an answerable question that shares under 60% of its content words with the sentence
  holding the answer (it must be matched through a paraphrase), or an unanswerable question
  that shares 50% or more with some sentence of its context (a near miss: it looks answerable);
- ``simple``: the rest (the question restates the answer's sentence, or misses the context
  plainly).

**Balancing** only drops records, never copies them: per split, greedily, one to three
records at a time from the (class, difficulty) cells whose removal most reduces (per record) the
distance of the shares from their ranges, preferring removals that keep the class shares where
they were, until every share is in range, no removal helps, or ``max_drop`` of the split is
gone. Difficulty is balanced only when its targets are reachable within ``max_drop`` (a lower
bound on the drops needed is computed first): moving toward a target that cannot be met would
only cost data; the report gives the drops it would need.

**Token lengths** use the model's tokenizer when it can be loaded (the built-in ``tiny``
model's exists only after the model stage, which needs the data split: the data build uses the
estimate and ``tunesmith data stats`` re-measures after the model stage), else an estimate of
4 characters per token (OpenAI's rule of thumb for English BPE vocabularies).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import RunConfig
from tunesmith.config.data_quality import BalanceConfig
from tunesmith.data.chunk import split_sentences
from tunesmith.data.schema import Difficulty, QARecord, Rejection, read_records
from tunesmith.data.sources.base import Skip
from tunesmith.data.split import SPLITS
from tunesmith.errors import TunesmithError
from tunesmith.utils.hashing import sha256_bytes
from tunesmith.utils.io import write_json_atomic
from tunesmith.utils.layout import RunLayout

CLASSES = ("answerable", "unanswerable", "ambiguous")
LEVELS: tuple[Difficulty, ...] = ("simple", "inferential", "multihop")
_CLASS_OF_KIND = {"answerable": "answerable", "multihop": "answerable",
                  "unanswerable": "unanswerable", "ambiguous": "ambiguous",
                  "adversarial": "ambiguous"}
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text and BPE vocabularies
SIMPLE_OVERLAP = 0.6  # answerable: share of question content words found in the answer's sentence
NEAR_MISS_OVERLAP = 0.5  # unanswerable: a context sentence this close makes it a near miss
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(re.findall(r"\w+", """
    a an the of in on at to for from by with and or is are was were be been being do does did
    what which who whom whose when where why how many much it its this that these those as
    there their they he she his her has have had can could would should will shall may might
    into about than then not no if so any some"""))
_REASONING = re.compile(r"^\s*(why|how)\b(?!\s+(many|much|long|old|often|far|big|large|"
                        r"small|fast|high|tall|deep))", re.IGNORECASE)


def answerability_class(record: QARecord) -> str:
    return _CLASS_OF_KIND[record.kind]


def _content(text: str) -> set[str]:
    """Content words, cut to 5 characters (a crude stem: listens ~ listen, ports ~ port)."""
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOP}


def _overlap(question: set[str], sentence: str) -> float:
    return len(question & _content(sentence)) / len(question) if question else 1.0


def _answer_sentence(record: QARecord) -> str:
    context = record.contexts[0]
    start = record.answer_start
    if start is None:
        start = max(0, context.find(record.answer or ""))
    for sentence in split_sentences(context):
        where = context.find(sentence)
        if where <= start < where + len(sentence):
            return sentence
    return context


def grade_difficulty(record: QARecord) -> Difficulty:
    """The record's difficulty from its features (module docstring)."""
    if len(record.contexts) > 1 or record.kind == "multihop":
        return "multihop"
    if record.kind in ("ambiguous", "adversarial") or _REASONING.match(record.question):
        return "inferential"
    question = _content(record.question)
    if record.answer is not None:
        overlap = _overlap(question, _answer_sentence(record))
        return "simple" if overlap >= SIMPLE_OVERLAP else "inferential"
    best = max((_overlap(question, s) for s in split_sentences(record.contexts[0])), default=0)
    return "inferential" if best >= NEAR_MISS_OVERLAP else "simple"


def regrade(records: Sequence[QARecord]) -> list[QARecord]:
    """Records with their graded difficulty; a generator's different label stays in
    ``provenance.difficulty_generator``."""
    out = []
    for record in records:
        graded = grade_difficulty(record)
        if graded == record.difficulty:
            out.append(record)
            continue
        provenance = {**record.provenance, "difficulty_generator": record.difficulty}
        out.append(record.model_copy(update={"difficulty": graded, "provenance": provenance}))
    return out


# -- balance ---------------------------------------------------------------------------------


def shares(records: Sequence[QARecord], key: Callable[[QARecord], str],
           names: Sequence[str]) -> dict[str, float]:
    counts = Counter(key(r) for r in records)
    total = max(1, len(records))
    return {name: round(counts[name] / total, 4) for name in names}


def _distance(counts: Mapping[str, int], total: int,
              ranges: Mapping[str, tuple[float, float]]) -> float:
    out = 0.0
    for name, (low, high) in ranges.items():
        share = counts.get(name, 0) / total
        out += max(0.0, low - share) + max(0.0, share - high)
    return out


def _drops_for_levels(counts: Mapping[str, int], total: int,
                      ranges: Mapping[str, tuple[float, float]]) -> int:
    """A lower bound on the records to drop before every level is within its range: an
    over-represented level loses its own records, an under-represented one needs the others
    to shrink."""
    over = sum(max(0, math.ceil((counts.get(d, 0) - high * total) / (1 - high)))
               for d, (_, high) in ranges.items() if high < 1)
    under = max((max(0, math.ceil(total - counts.get(d, 0) / low))
                 for d, (low, _) in ranges.items() if low > 0), default=0)
    return max(over, under)


@dataclass
class Balanced:
    records: list[QARecord]
    dropped: list[Rejection]
    report: dict[str, Any]


def balance_split(records: Sequence[QARecord], config: BalanceConfig, seed: int,
                  mix: Mapping[str, float] | None = None) -> Balanced:
    """Drop records until the answerability and difficulty shares are within their ranges.

    ``mix``: the construction's target share per answerability class (``data.mix``); shares
    within ``mix_tolerance`` of it count as in range too, so balancing never undoes the mix.
    """
    class_ranges: dict[str, tuple[float, float]] = dict(config.answerability)
    tol = config.difficulty_tolerance
    level_ranges = {d: (max(0.0, t - tol), min(1.0, t + tol)) for d, t in config.difficulty.items()}
    cells: dict[tuple[str, str], list[QARecord]] = {}
    # a seeded order: which record of a cell goes first does not depend on generation order
    for record in sorted(records, key=lambda r: sha256_bytes(f"{seed}:{r.id}".encode())):
        cells.setdefault((answerability_class(record), record.difficulty), []).append(record)
    present_classes = {c for c, _ in cells}
    present_levels = {d for _, d in cells}
    # a class or level with no records cannot be fixed by dropping others: left out, reported
    class_ranges = {c: r for c, r in class_ranges.items() if c in present_classes}
    tol_mix = config.mix_tolerance
    mix_ranges = {c: (max(0.0, t - tol_mix), min(1.0, t + tol_mix))
                  for c, t in (mix or {}).items() if c in present_classes}
    level_ranges = {d: r for d, r in level_ranges.items() if d in present_levels}
    class_counts: Counter[str] = Counter()
    level_counts: Counter[str] = Counter()
    for (klass, level), members in cells.items():
        class_counts[klass] += len(members)
        level_counts[level] += len(members)
    start_share = {c: class_counts[c] / max(1, len(records)) for c in class_counts}
    total = len(records)
    budget = math.floor(config.max_drop * total)
    needed = _drops_for_levels(level_counts, total, level_ranges)
    if needed > budget:  # out of reach: dropping toward it would only cost data
        level_ranges = {}

    def cost(classes: Counter[str], levels: Counter[str], n: int) -> float:
        drift = sum(abs(classes[c] / n - start_share[c]) for c in start_share)
        return ((_distance(classes, n, class_ranges) + _distance(classes, n, mix_ranges)) * 10
                + _distance(levels, n, level_ranges) + 0.1 * drift)

    dropped: list[Rejection] = []
    current = cost(class_counts, level_counts, max(1, total))
    while len(dropped) < budget and total > 1:
        if (_distance(class_counts, total, class_ranges) == 0
                and _distance(class_counts, total, mix_ranges) == 0
                and _distance(level_counts, total, level_ranges) == 0):
            break
        # one to three records from one to three cells at once: a single removal can be stuck
        # at a range's edge where removing from several classes together keeps their ratio
        nonempty = [cell for cell, members in cells.items() if members]
        moves: list[tuple[tuple[str, str], ...]] = [
            move for size in (1, 2, 3)
            for move in itertools.combinations_with_replacement(nonempty, size)
            if all(len(cells[c]) >= move.count(c) for c in move)]
        best: tuple[float, float, tuple[tuple[str, str], ...]] | None = None
        for move in moves:
            if len(dropped) + len(move) > budget or total - len(move) < 1:
                continue
            for klass, level in move:
                class_counts[klass] -= 1
                level_counts[level] -= 1
            trial = cost(class_counts, level_counts, total - len(move))
            for klass, level in move:
                class_counts[klass] += 1
                level_counts[level] += 1
            gain = (current - trial) / len(move)
            if best is None or gain > best[0]:
                best = (gain, trial, move)
        if best is None or best[0] <= 1e-12:
            break
        _, current, chosen = best
        for cell in chosen:
            record = cells[cell].pop()
            class_counts[cell[0]] -= 1
            level_counts[cell[1]] -= 1
            total -= 1
            dropped.append(Rejection(record, "balance", f"over-represented: {cell[0]} / "
                                     f"{cell[1]} (answerability and difficulty targets)"))
    gone = {id(r.record) for r in dropped}
    kept = [r for r in records if id(r) not in gone]
    report = {
        "answerability": {"before": shares(records, answerability_class, CLASSES),
                          "after": shares(kept, answerability_class, CLASSES),
                          "ranges": {c: list(r) for c, r in config.answerability.items()},
                          "mix": dict(mix or {})},
        "difficulty": {"before": shares(records, lambda r: r.difficulty, LEVELS),
                       "after": shares(kept, lambda r: r.difficulty, LEVELS),
                       "targets": dict(config.difficulty), "tolerance": tol,
                       "drops_needed": needed, "balanced": needed <= budget},
        "missing": sorted({*config.answerability} - present_classes
                          | {*config.difficulty} - present_levels),
        "dropped": len(dropped), "before": len(records), "after": len(kept),
    }
    return Balanced(kept, dropped, report)


def balance(splits: Mapping[str, Sequence[QARecord]], config: BalanceConfig, seed: int,
            mix: Mapping[str, float] | None = None,
            ) -> tuple[dict[str, list[QARecord]], list[Rejection], dict[str, Any]]:
    """Grade difficulty (if configured) and balance every split."""
    out: dict[str, list[QARecord]] = {}
    rejected: list[Rejection] = []
    report: dict[str, Any] = {}
    for offset, (name, records) in enumerate(splits.items()):
        graded = regrade(records) if config.grade_difficulty else list(records)
        if not config.enabled:
            out[name] = graded
            report[name] = {"answerability": shares(graded, answerability_class, CLASSES),
                            "difficulty": shares(graded, lambda r: r.difficulty, LEVELS)}
            continue
        result = balance_split(graded, config, seed + offset, mix)
        out[name] = result.records
        rejected += result.dropped
        report[name] = result.report
    return out, rejected, report


# -- token lengths ---------------------------------------------------------------------------

TokenCount = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """Tokens without a tokenizer: 4 characters a token (at least 1 for non-empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _tiny_tokenizer_path(run_dir: Path) -> str | None:
    try:
        base = RunLayout(run_dir).base_model()
    except TunesmithError:  # the model stage has not run
        return None
    return base if Path(base).exists() else None


def token_counter(config: RunConfig, run_dir: Path | None = None) -> tuple[TokenCount, str]:
    """(count tokens, what counted them): the configured tokenizer, or the estimate."""
    choice = config.data.balance.tokenizer
    if choice == "estimate":
        return estimate_tokens, f"estimate ({CHARS_PER_TOKEN} characters per token)"
    name: str | None = choice
    if choice == "auto":
        if config.model.is_tiny:
            name = _tiny_tokenizer_path(run_dir) if run_dir is not None else None
        else:
            name = config.model.name
    if name is None:
        return estimate_tokens, (f"estimate ({CHARS_PER_TOKEN} characters per token; the "
                                 "built-in model's tokenizer exists after the model stage)")
    from transformers import AutoTokenizer

    from tunesmith.inference.encoder import encoder_path  # defers transformers and torch

    shown = name
    try:
        # 'auto' is an analysis: it uses what is on disk and never waits on the network;
        # the MiniLM aliases are the offline package's folder
        tokenizer = AutoTokenizer.from_pretrained(encoder_path(name),
                                                  local_files_only=choice == "auto")
    except (OSError, ValueError) as exc:
        if choice != "auto":
            raise TunesmithError(
                f"data.balance.tokenizer: cannot load tokenizer {name!r} ({exc}); use 'auto', "
                "'estimate' or a local tokenizer folder") from None
        return estimate_tokens, (f"estimate ({CHARS_PER_TOKEN} characters per token; "
                                 f"tokenizer {name!r} not available offline)")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count, f"tokenizer {shown}"


def token_lengths(records: Sequence[QARecord], count: TokenCount
                  ) -> dict[str, list[tuple[str, int]]]:
    """(record id, tokens) per field: question, context (each context), answer (if any)."""
    out: dict[str, list[tuple[str, int]]] = {"question": [], "context": [], "answer": []}
    context_tokens: dict[str, int] = {}
    for record in records:
        out["question"].append((record.id, count(record.question)))
        for context in record.contexts:
            if context not in context_tokens:
                context_tokens[context] = count(context)
            out["context"].append((record.id, context_tokens[context]))
        if record.answer is not None:
            out["answer"].append((record.id, count(record.answer)))
    return out


def length_report(lengths: Mapping[str, Sequence[tuple[str, int]]], config: BalanceConfig,
                  counted_by: str, max_outliers: int = 20) -> dict[str, Any]:
    """Per field: the distribution, the share within the seed's range, the outliers."""
    ranges = {"question": config.question_tokens, "context": config.context_tokens,
              "answer": config.answer_tokens}
    report: dict[str, Any] = {"counted_by": counted_by}
    for field, rows in lengths.items():
        low, high = ranges[field]
        values = sorted(n for _, n in rows)
        if not values:
            report[field] = {"n": 0, "range": [low, high]}
            continue
        below = [rid for rid, n in rows if n < low]
        above = [rid for rid, n in rows if n > high]
        report[field] = {
            "n": len(values), "range": [low, high], "min": values[0], "max": values[-1],
            "mean": round(sum(values) / len(values), 2),
            "p10": values[len(values) // 10], "median": values[len(values) // 2],
            "p90": values[min(len(values) - 1, len(values) * 9 // 10)],
            "within_range": round(1 - (len(below) + len(above)) / len(values), 4),
            "below": len(below), "above": len(above),
            "outliers": sorted(set(below[:max_outliers] + above[:max_outliers])),
        }
    return report


def measure_built_lengths(config: RunConfig, skipped: list[Skip] | None = None
                          ) -> dict[str, Any]:
    """Re-measure the built splits' token lengths (now with the model's tokenizer if it can be
    loaded) into ``data/lengths.json`` (``stats.json`` is the data stage's output and stays
    as built). ``skipped``: as for :func:`read_records` (None: a bad line raises)."""
    data_dir = RunLayout.of(config).data_dir
    if not (data_dir / "stats.json").is_file():
        raise TunesmithError(f"{data_dir}: no built data; run `tunesmith data build` first")
    records = [r for name in SPLITS if (data_dir / f"{name}.jsonl").is_file()
               for r in read_records(data_dir / f"{name}.jsonl", skipped)]
    count, counted_by = token_counter(config, config.run_dir)
    report = length_report(token_lengths(records, count), config.data.balance, counted_by)
    write_json_atomic(data_dir / "lengths.json", report)
    return report
