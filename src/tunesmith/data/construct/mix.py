"""The construction mix: answerable, unanswerable, adversarial and multi-hop records per split.

seed: "70% answerable questions, 20% unanswerable questions (with [No context] answer), 10%
adversarial questions (misleading but context-related)"; "Multi-hop QA (15-20% of dataset)".
The first three shares add up to 100%, so multi-hop cannot be a fourth kind beside them: it is
read here as a kind of *answerable* question (a multi-hop question has an answer; it is harder
to find), so with the defaults a split holds 55% single-document answerable, 15% multi-hop
(70% answerable in all), 20% unanswerable and 10% adversarial records.

Each split is built from its own records and contexts only, so nothing crosses splits. The
number of single-document answerable records fixes the split's size; the other kinds are made
to their shares of it. When a kind cannot be made in full (too few bridge entities, say), every
kind is cut back to the shares of the largest dataset the made records allow, and what is cut
goes to ``rejected.jsonl`` with the reason: the shares are kept, the size gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tunesmith.data.chunk import Context
from tunesmith.data.construct.adversarial import entity_inventory, make_adversarial
from tunesmith.data.construct.multihop import make_multihop
from tunesmith.data.construct.negatives import hard_negatives
from tunesmith.data.nlp import embed
from tunesmith.data.schema import QARecord, Rejection

if TYPE_CHECKING:
    from tunesmith.config.data_gen import MixConfig

Progress = Callable[[str], None]
# a split's shares may miss their targets by this much when a kind cannot be made in full
# (few bridge entities in a small split): 2 points, inside the 3 points the data report allows
TOLERANCE = 0.02


def shares(config: MixConfig) -> dict[str, float]:
    """Target share of each record kind (single-document answerable apart from multi-hop)."""
    answerable = config.answerable if config.answerable is not None else 0.7
    return {
        "answerable": answerable - config.multihop,
        "multihop": config.multihop,
        "unanswerable": config.unanswerable,
        "adversarial": config.adversarial,
    }


def fit_counts(available: Mapping[str, int], targets: Mapping[str, float],
               tolerance: float = TOLERANCE) -> dict[str, int]:
    """How many records of each kind to keep: the largest dataset whose every share is within
    ``tolerance`` of its target, using no more records of a kind than are available."""
    ceiling = sum(available.values())
    for total in range(ceiling, 0, -1):
        counts = {k: min(available[k], round(targets[k] * total)) for k in targets}
        kept = sum(counts.values())
        if kept and all(abs(counts[k] / kept - targets[k]) <= tolerance for k in targets):
            return counts
    return {k: 0 for k in targets}


def _trim(
    by_kind: dict[str, list[QARecord]], targets: dict[str, float]
) -> tuple[dict[str, list[QARecord]], list[Rejection]]:
    """Cut kinds back so that every share is within the tolerance of its target."""
    counts = fit_counts({k: len(v) for k, v in by_kind.items()}, targets)
    total = sum(counts.values())
    kept: dict[str, list[QARecord]] = {}
    rejected: list[Rejection] = []
    for kind, records in by_kind.items():
        kept[kind] = records[: counts[kind]]
        rejected.extend(
            Rejection(r, "construct", f"mix: over the {kind} share ({targets[kind]:.0%}) of "
                      f"a split of {total} records")
            for r in records[counts[kind] :]
        )
    return kept, rejected


def construct_split(
    answerable: Sequence[QARecord],
    contexts: Sequence[Context],
    config: MixConfig,
    seed: int,
    question_vectors: np.ndarray | None = None,
    context_vectors: np.ndarray | None = None,
) -> tuple[list[QARecord], list[Rejection]]:
    """One split's records in the configured mix."""
    targets = shares(config)
    singles = _singles(answerable)
    # records of the other kinds made before (augmentation's unanswerable copies, imported
    # records) count toward their shares; ambiguous records have no share here and pass on
    existing: dict[str, list[QARecord]] = {k: [] for k in targets}
    passed: list[QARecord] = []
    for r in answerable:
        if r.kind in existing and r.kind != "answerable":
            existing[r.kind].append(r)
        elif r.kind != "answerable" or r.answer is None:
            passed.append(r)
    if not singles or targets["answerable"] <= 0:
        return list(answerable), []
    total = len(singles) / targets["answerable"]
    want = {kind: max(0, round(share * total) - len(existing[kind]))
            for kind, share in targets.items()}
    rejected: list[Rejection] = []
    negatives, dropped = hard_negatives(
        singles, contexts, want["unanswerable"], seed,
        question_vectors if config.hard_negatives else None,
        context_vectors if config.hard_negatives else None,
    )
    rejected += dropped
    inventory = entity_inventory([c.text for c in contexts])
    adversarial = make_adversarial(singles, want["adversarial"], seed + 1, inventory)
    multihop = make_multihop(singles, contexts, want["multihop"], seed + 2)
    by_kind = {"answerable": list(singles), "multihop": existing["multihop"] + multihop,
               "unanswerable": existing["unanswerable"] + negatives,
               "adversarial": existing["adversarial"] + adversarial}
    made = {"multihop": multihop, "unanswerable": negatives, "adversarial": adversarial}
    if any(len(made[k]) < want[k] for k in made if targets[k] > 0) or any(
        len(existing[k]) > round(targets[k] * total) for k in made
    ):
        trimmed, cut = _trim(by_kind, targets)
        # a small split (a few documents, few bridge entities) would lose most of its
        # questions to keep the shares: it keeps them and misses a share instead
        if len(trimmed["answerable"]) >= len(singles) / 2:
            by_kind = trimmed
            rejected += cut
    records = [r for kind in by_kind.values() for r in kind] + passed
    return sorted(records, key=lambda r: r.id), rejected


def construct_mix(
    answerable_by_split: Mapping[str, Sequence[QARecord]],
    contexts_by_split: Mapping[str, Sequence[Context]],
    config: MixConfig,
    seed: int,
    on_step: Progress | None = None,
) -> tuple[dict[str, list[QARecord]], list[Rejection]]:
    """Every split in the configured mix; questions and contexts are embedded once, together
    (MiniLM), when hard negatives are on."""
    step = on_step or (lambda _: None)
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if config.hard_negatives and config.unanswerable > 0:
        step("embedding questions and contexts for hard negatives")
        names = list(answerable_by_split)
        questions = [r.question for n in names for r in _singles(answerable_by_split[n])]
        texts = [c.text for n in names for c in contexts_by_split.get(n, [])]
        matrix = embed(questions + texts, config.encoder)
        q_at = c_at = 0
        c_base = len(questions)
        for name in names:
            nq = len(_singles(answerable_by_split[name]))
            nc = len(contexts_by_split.get(name, []))
            vectors[name] = (matrix[q_at : q_at + nq], matrix[c_base + c_at : c_base + c_at + nc])
            q_at += nq
            c_at += nc
    out: dict[str, list[QARecord]] = {}
    rejected: list[Rejection] = []
    for offset, (name, records) in enumerate(answerable_by_split.items()):
        step(f"constructing the {name} mix from {len(records)} answerable records")
        q_vec, c_vec = vectors.get(name, (None, None))
        out[name], dropped = construct_split(
            records, contexts_by_split.get(name, []), config, seed + 10 * offset, q_vec, c_vec
        )
        rejected += dropped
    return out, rejected


def _singles(records: Sequence[QARecord]) -> list[QARecord]:
    return [r for r in records if r.kind == "answerable" and r.answer is not None]
