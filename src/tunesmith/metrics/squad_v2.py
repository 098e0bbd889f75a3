"""SQuAD 2.0 metrics: exact match, F1, HasAns/NoAns breakdown and the best-threshold sweep.

A line-by-line port of the official SQuAD 2.0 evaluation script (``evaluate-v2.0.py``,
published with Rajpurkar, Jia and Liang, 2018, "Know What You Don't Know: Unanswerable
Questions for SQuAD", ACL). Every definition, its iteration order (so floating-point sums are
identical) and its quirks are kept, so the numbers match the official output exactly:

- gold answers that normalise to empty are dropped; if none remain the gold is ``[""]``;
- a question is answerable when it has any (raw, non-empty) gold answer, as the official
  ``bool(qa['answers'])``; for an unanswerable question only an empty prediction is correct;
- a question counts as abstained only when ``na_prob > na_prob_thresh`` (strictly);
- the sweep starts from the number of unanswerable questions, walks qids in ``na_probs`` order
  sorted (stably) by probability, charges -1 for any non-empty *raw* prediction on an
  unanswerable question, and reports the probability of the qid at which the best score was
  first reached (0.0 if never improved);
- ``HasAns_*`` / ``NoAns_*`` keys appear only when that subset is non-empty.

Differences from the script: a missing prediction or no-answer probability and an empty gold
set (where it prints "Missing prediction" and/or crashes with ``KeyError`` or
``ZeroDivisionError``), and a duplicated question id (which it silently overwrites), raise a
clear ``ValueError`` instead.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from tunesmith.utils.text import normalize_answer


@dataclass(frozen=True)
class SquadExample:
    """One question: its id and its gold answer texts (``[]`` or ``[""]``: unanswerable)."""

    qid: str
    gold_answers: list[str]

    @property
    def has_answer(self) -> bool:
        """Answerable as the official script decides it: any non-empty raw gold answer."""
        return any(self.gold_answers)


def get_tokens(s: str) -> list[str]:
    """The normalised tokens of ``s`` (``[]`` for an empty string)."""
    if not s:
        return []
    return normalize_answer(s).split()


def compute_exact(a_gold: str, a_pred: str) -> int:
    """1 if the normalised answers are equal, else 0."""
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float:
    """Token-level F1; if either side has no tokens, 1 when both have none, else 0."""
    gold_toks = get_tokens(a_gold)
    pred_toks = get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def get_raw_scores(
    examples: Sequence[SquadExample], preds: Mapping[str, str]
) -> tuple[dict[str, int], dict[str, float]]:
    """Per-qid exact and F1, each the max over the (non-empty-normalised) gold answers."""
    exact_scores: dict[str, int] = {}
    f1_scores: dict[str, float] = {}
    for ex in examples:
        gold_answers = [a for a in ex.gold_answers if normalize_answer(a)] or [""]
        a_pred = preds[ex.qid]
        exact_scores[ex.qid] = max(compute_exact(a, a_pred) for a in gold_answers)
        f1_scores[ex.qid] = max(compute_f1(a, a_pred) for a in gold_answers)
    return exact_scores, f1_scores


def apply_no_ans_threshold(
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
    na_prob_thresh: float,
) -> dict[str, float]:
    """Score as abstained (1 if unanswerable, else 0) where ``na_prob > na_prob_thresh``."""
    new_scores: dict[str, float] = {}
    for qid, s in scores.items():
        pred_na = na_probs[qid] > na_prob_thresh
        new_scores[qid] = float(not qid_to_has_ans[qid]) if pred_na else s
    return new_scores


def make_eval_dict(
    exact_scores: Mapping[str, float],
    f1_scores: Mapping[str, float],
    qid_list: Sequence[str] | None = None,
) -> dict[str, float]:
    """``exact``/``f1`` (x100) and ``total`` over ``qid_list`` (all qids if empty or None)."""
    if not qid_list:
        total = len(exact_scores)
        return {
            "exact": 100.0 * sum(exact_scores.values()) / total,
            "f1": 100.0 * sum(f1_scores.values()) / total,
            "total": total,
        }
    total = len(qid_list)
    return {
        "exact": 100.0 * sum(exact_scores[k] for k in qid_list) / total,
        "f1": 100.0 * sum(f1_scores[k] for k in qid_list) / total,
        "total": total,
    }


def find_best_thresh(
    preds: Mapping[str, str],
    scores: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
) -> tuple[float, float]:
    """The best overall score (x100) over no-answer thresholds, and that threshold."""
    num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
    cur_score: float = num_no_ans
    best_score: float = cur_score
    best_thresh = 0.0
    qid_list = sorted(na_probs, key=lambda k: na_probs[k])
    for qid in qid_list:
        if qid not in scores:
            continue
        if qid_to_has_ans[qid]:
            cur_score += scores[qid]
        elif preds[qid]:
            cur_score -= 1
        if cur_score > best_score:
            best_score = cur_score
            best_thresh = na_probs[qid]
    return 100.0 * best_score / len(scores), best_thresh


def find_all_best_thresh(
    main_eval: dict[str, float],
    preds: Mapping[str, str],
    exact_raw: Mapping[str, float],
    f1_raw: Mapping[str, float],
    na_probs: Mapping[str, float],
    qid_to_has_ans: Mapping[str, bool],
) -> None:
    """Add ``best_exact``, ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh`` in place."""
    best_exact, exact_thresh = find_best_thresh(preds, exact_raw, na_probs, qid_to_has_ans)
    best_f1, f1_thresh = find_best_thresh(preds, f1_raw, na_probs, qid_to_has_ans)
    main_eval["best_exact"] = best_exact
    main_eval["best_exact_thresh"] = exact_thresh
    main_eval["best_f1"] = best_f1
    main_eval["best_f1_thresh"] = f1_thresh


def _missing(qids: Sequence[str], present: Mapping[str, object], what: str) -> None:
    missing = [q for q in qids if q not in present]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValueError(f"{len(missing)} question(s) have no {what}: {shown}")


def squad_v2_scores(
    examples: Sequence[SquadExample] | Mapping[str, list[str]],
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, float]:
    """The official SQuAD 2.0 evaluation dict for ``predictions`` ("" means "no answer").

    ``examples`` is a sequence of :class:`SquadExample` or a mapping qid -> gold answers, in
    dataset order. Predictions for unknown qids are ignored. With ``na_probs`` the output also
    holds the best-threshold sweep. Raises ``ValueError`` on no examples, a duplicated qid, a
    missing prediction or a missing no-answer probability (the official script prints "Missing
    prediction for ..." and then fails with a ``KeyError``).
    """
    if isinstance(examples, Mapping):
        examples = [SquadExample(qid, list(golds)) for qid, golds in examples.items()]
    if not examples:
        raise ValueError("no examples to score")
    qid_to_has_ans = {ex.qid: ex.has_answer for ex in examples}
    if len(qid_to_has_ans) != len(examples):
        counts = collections.Counter(ex.qid for ex in examples)
        dups = [qid for qid, n in counts.items() if n > 1]
        raise ValueError(f"duplicated question ids: {', '.join(dups[:5])}")
    qids = list(qid_to_has_ans)
    _missing(qids, predictions, "prediction")
    if na_probs is not None:
        _missing(qids, na_probs, "no-answer probability")
    probs = na_probs if na_probs is not None else {k: 0.0 for k in predictions}

    exact_raw, f1_raw = get_raw_scores(examples, predictions)
    exact_thresh = apply_no_ans_threshold(exact_raw, probs, qid_to_has_ans, na_prob_thresh)
    f1_thresh = apply_no_ans_threshold(f1_raw, probs, qid_to_has_ans, na_prob_thresh)
    out_eval = make_eval_dict(exact_thresh, f1_thresh)
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        subset = [k for k, v in qid_to_has_ans.items() if v is wanted]
        if subset:
            sub_eval = make_eval_dict(exact_thresh, f1_thresh, qid_list=subset)
            out_eval.update({f"{prefix}_{k}": v for k, v in sub_eval.items()})
    if na_probs is not None:
        find_all_best_thresh(out_eval, predictions, exact_raw, f1_raw, na_probs, qid_to_has_ans)
    return out_eval


def load_squad_v2_gold(path: str | PathLike[str]) -> list[SquadExample]:
    """Questions of an official SQuAD 2.0 JSON file (``data[].paragraphs[].qas[]``), in order.

    Gold answers are ``answers[].text``; a question with ``is_impossible: true`` is unanswerable
    (its ``plausible_answers`` are not gold).
    """
    with Path(path).open(encoding="utf-8") as f:
        dataset = json.load(f)["data"]
    return [
        SquadExample(
            str(qa["id"]),
            [] if qa.get("is_impossible") else [str(a["text"]) for a in qa.get("answers", [])],
        )
        for article in dataset
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
