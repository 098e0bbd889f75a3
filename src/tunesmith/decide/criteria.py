"""The seed's decision framework as measured criteria, and the recommendation they lead to.

seed, "How to make the decision of fine-tuning?": (1) problem diagnosis: prompting (few-shot,
chain-of-thought) scored with F1 (<75% indicates need), and 500-10k curated examples; (2)
alternatives: RAG first, smaller models, API vs in-house; (3) requirements: non-public
knowledge, template adherence, latency (<500ms requires optimization); (4) cost-benefit.
"Fine-tune when all of these converge: performance gap >15%, data availability confirmed, and
task specificity exceeds prompt engineering capabilities."

Each criterion states a condition, its measured value and threshold, and whether it holds.
``rule`` criteria are the seed's rule (all three must hold to fine-tune); ``alternative`` ones
say whether RAG would do; ``advice`` ones are shown and weigh nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tunesmith.config.decide import DecideConfig

Role = Literal["rule", "alternative", "advice"]
PROMPTING = ("zero_shot", "few_shot", "cot")
RAG = ("rag_bm25", "rag_embedding")
Recommendation = Literal["prompt", "RAG", "fine-tune", "RAG + fine-tune"]


@dataclass(frozen=True)
class Criterion:
    name: str
    condition: str  # what must be true, in words
    value: float | None
    threshold: str
    passed: bool | None  # None: not measured
    role: Role
    source: str  # the seed's words, or "tunesmith" where the seed gives no number

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best(baselines: Mapping[str, Mapping[str, Any]], names: tuple[str, ...] | None = None,
         key: str = "f1") -> tuple[str | None, float | None]:
    """The baseline (among ``names``; every one when None) with the highest ``key``."""
    scored = [(n, float(m[key])) for n, m in baselines.items()
              if (names is None or n in names) and m.get(key) is not None]
    return max(scored, key=lambda s: s[1]) if scored else (None, None)


def prompting_names(baselines: Mapping[str, Any]) -> tuple[str, ...]:
    """The prompting baselines: zero-shot, few-shot, CoT, and any other model (zero-shot)."""
    return tuple(n for n in baselines if n in PROMPTING or n.startswith("model:"))


def evaluate_criteria(cfg: DecideConfig, baselines: Mapping[str, Mapping[str, Any]],
                      examples: int, closed_book_share: float | None,
                      recall: Mapping[str, float | None]) -> list[Criterion]:
    target, gap = cfg.target_f1, cfg.min_gap
    best_prompt, prompt_f1 = best(baselines, prompting_names(baselines))
    _, rag_f1 = best(baselines, RAG)
    best_recall = max((r for r in recall.values() if r is not None), default=None)
    low, high = cfg.data_range
    chosen = baselines.get(best_prompt or "", {})
    p95 = chosen.get("p95_ms")
    adherence = chosen.get("format_adherence")

    def short_of(f1: float | None) -> float | None:
        return None if f1 is None else target - f1

    def holds(value: float | None, test: bool) -> bool | None:
        return None if value is None else test

    prompt_gap, rag_gap = short_of(prompt_f1), short_of(rag_f1)
    return [
        Criterion("performance_gap",
                  f"the best prompting ({best_prompt}) falls more than {gap:g} F1 points short "
                  f"of the target {target:g}", prompt_gap, f"> {gap:g}",
                  holds(prompt_gap, (prompt_gap or 0) > gap), "rule",
                  'seed: "performance gap >15%"; "F1-score or BLEU (<75% indicates need)"'),
        Criterion("data_available", f"at least {low:,} curated examples (more than {high:,} "
                  "add little)", float(examples), f">= {low:,}", examples >= low, "rule",
                  'seed: "500-10k curated examples required"'),
        Criterion("knowledge_not_public", "the base model answers few questions right without "
                  "their context (closed book): the knowledge is not in it",
                  closed_book_share, f"<= {cfg.max_closed_book_share:g}",
                  holds(closed_book_share,
                        (closed_book_share or 0) <= cfg.max_closed_book_share), "rule",
                  'seed: "Confirm domain specificity needs non-public knowledge" (threshold: '
                  "tunesmith)"),
        Criterion("rag_gap", f"the best RAG baseline also falls more than {gap:g} points short "
                  "of the target", rag_gap, f"> {gap:g}", holds(rag_gap, (rag_gap or 0) > gap),
                  "alternative", 'seed: "Benchmark RAG (Retrieval-Augmented Generation) '
                  'approach first"'),
        Criterion("retrieval_recall", f"retrieval finds the question's chunk among the top "
                  f"{cfg.retrieval_k} (recall@{cfg.retrieval_k}, the better retriever)",
                  best_recall, f">= {cfg.min_recall:g}",
                  holds(best_recall, (best_recall or 0) >= cfg.min_recall), "alternative",
                  "tunesmith: a reader can only use a chunk that was retrieved"),
        Criterion("format_adherence", f"prompting ({best_prompt}) holds the output format (the "
                  "abstention phrase alone, or a short answer)", adherence,
                  f">= {cfg.min_format_adherence:g}",
                  holds(adherence, (adherence or 0) >= cfg.min_format_adherence), "advice",
                  'seed: "Verify response format demands template adherence"'),
        Criterion("latency", f"prompting ({best_prompt}) answers within the latency budget "
                  "(p95, ms, one question at a time on this machine)", p95,
                  f"<= {cfg.max_latency_ms:g}",
                  holds(p95, (p95 or 0) <= cfg.max_latency_ms), "advice",
                  'seed: "Validate latency constraints (<500ms requires optimization)"'),
    ]


def recommend(criteria: list[Criterion]) -> tuple[Recommendation, list[str]]:
    """The seed's rule, cheapest approach first: prompting when it is within ``min_gap`` of
    the target; else RAG when it is; else fine-tuning when the rule holds (with RAG when
    retrieval finds the chunks); else the better of the two alternatives, and why."""
    by = {c.name: c for c in criteria}
    gap, data, private = by["performance_gap"], by["data_available"], by["knowledge_not_public"]
    rag_gap, recall = by["rag_gap"], by["retrieval_recall"]
    reasons: list[str] = []
    if gap.passed is False:
        return "prompt", [f"prompting is within the gap: {gap.condition} does not hold "
                          f"({_num(gap.value)} points short)"]
    if rag_gap.passed is False:
        return "RAG", [f"RAG is within the gap ({_num(rag_gap.value)} points short of the "
                       "target) where prompting is not"]
    rule = [gap, data, private]
    if all(c.passed for c in rule):
        reasons.append("the seed's rule holds: " + "; ".join(
            f"{c.name} {_num(c.value)} {c.threshold}" for c in rule))
        if recall.passed:
            reasons.append(f"retrieval finds the right chunk (recall {_num(recall.value)}): "
                           "retrieve, and fine-tune the reader")
            return "RAG + fine-tune", reasons
        reasons.append(f"retrieval misses chunks (recall {_num(recall.value)} "
                       f"{recall.threshold} fails): fine-tune")
        return "fine-tune", reasons
    failed = [c for c in rule if not c.passed]
    reasons.append("the seed's rule does not hold: " + "; ".join(
        f"{c.name} {_num(c.value)} (needs {c.threshold})" for c in failed))
    if (rag_gap.value is not None and gap.value is not None and rag_gap.value < gap.value):
        reasons.append("RAG comes closer to the target than prompting")
        return "RAG", reasons
    reasons.append("prompting comes closest to the target without training")
    return "prompt", reasons


def _num(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4g}"
