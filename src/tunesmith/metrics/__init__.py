"""Metrics: pure functions over predictions and gold answers, shared by evaluate, guard and
decide: the official SQuAD 2.0 definitions (squad_v2.py), abstention and calibration
(abstention.py), BLEU and ROUGE-L (overlap.py)."""

from tunesmith.metrics.squad_v2 import (
    SquadExample,
    apply_no_ans_threshold,
    compute_exact,
    compute_f1,
    find_all_best_thresh,
    find_best_thresh,
    get_raw_scores,
    get_tokens,
    load_squad_v2_gold,
    make_eval_dict,
    normalize_answer,
    squad_v2_scores,
)

__all__ = [
    "SquadExample",
    "apply_no_ans_threshold",
    "compute_exact",
    "compute_f1",
    "find_all_best_thresh",
    "find_best_thresh",
    "get_raw_scores",
    "get_tokens",
    "load_squad_v2_gold",
    "make_eval_dict",
    "normalize_answer",
    "squad_v2_scores",
]
