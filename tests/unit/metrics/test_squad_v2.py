"""SQuAD 2.0 metrics against the official script's output on a real SQuAD 2.0 dev sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunesmith.metrics.squad_v2 import (
    SquadExample,
    apply_no_ans_threshold,
    compute_exact,
    compute_f1,
    find_best_thresh,
    get_tokens,
    load_squad_v2_gold,
    normalize_answer,
    squad_v2_scores,
)

# The README table of official-scores/: output, predictions, no-answer probabilities, threshold.
OFFICIAL_ROWS = [
    ("official-gold.json", "pred-gold.json", None, 1.0),
    ("official-abstain.json", "pred-abstain.json", None, 1.0),
    ("official-plausible.json", "pred-plausible.json", None, 1.0),
    ("official-perturbed.json", "pred-perturbed.json", None, 1.0),
    ("official-perturbed-na-random.json", "pred-perturbed.json", "na-prob-random.json", 1.0),
    (
        "official-perturbed-na-informative.json",
        "pred-perturbed.json",
        "na-prob-informative.json",
        1.0,
    ),
    (
        "official-perturbed-na-informative-t0.5.json",
        "pred-perturbed.json",
        "na-prob-informative.json",
        0.5,
    ),
]

WHEN_QID = "56ddde6b9a695914005b9629"  # "When were the Normans in Normandy?" (answerable)
IMPOSSIBLE_QID = "5ad39d53604f3c001a3fe8d1"  # unanswerable; plausible answer "Normans"


def _read(sample: Path, name: str) -> Any:
    path = sample / name if name == "dev-sample.json" else sample / "official-scores" / name
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def gold(squad_sample_dir: Path) -> list[SquadExample]:
    return load_squad_v2_gold(squad_sample_dir / "dev-sample.json")


@pytest.mark.parametrize(("official", "pred", "na_prob", "thresh"), OFFICIAL_ROWS)
def test_matches_official_script(
    squad_sample_dir: Path, gold: list[SquadExample], official: str, pred: str,
    na_prob: str | None, thresh: float
) -> None:
    expected = _read(squad_sample_dir, official)
    na_probs = _read(squad_sample_dir, na_prob) if na_prob else None
    got = squad_v2_scores(gold, _read(squad_sample_dir, pred), na_probs, na_prob_thresh=thresh)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_loader_reads_the_sample(gold: list[SquadExample]) -> None:
    assert len(gold) == 626
    assert sum(ex.has_answer for ex in gold) == 293
    by_id = {ex.qid: ex for ex in gold}
    assert by_id[IMPOSSIBLE_QID].gold_answers == []
    assert "in the 10th and 11th centuries" in by_id[WHEN_QID].gold_answers


def test_derived_predictions(gold: list[SquadExample]) -> None:
    exact = {ex.qid: ex.gold_answers[0] if ex.has_answer else "" for ex in gold}
    scores = squad_v2_scores(gold, exact)
    assert scores["exact"] == scores["f1"] == 100.0
    assert scores["HasAns_f1"] == scores["NoAns_f1"] == 100.0

    abstain = squad_v2_scores(gold, {ex.qid: "" for ex in gold})
    assert abstain["NoAns_exact"] == abstain["NoAns_f1"] == 100.0
    assert abstain["HasAns_exact"] == abstain["HasAns_f1"] == 0.0
    assert abstain["exact"] == abstain["f1"] == pytest.approx(100 * 333 / 626)
    assert (abstain["total"], abstain["HasAns_total"], abstain["NoAns_total"]) == (626, 293, 333)

    # Re-casing and an added article normalise away: still exact.
    for perturb in (str.upper, str.title, lambda s: "the " + s, lambda s: "An " + s.lower()):
        preds = {q: perturb(a) if a else "" for q, a in exact.items()}
        perturbed = squad_v2_scores(gold, preds)
        assert perturbed["exact"] == perturbed["f1"] == 100.0


def test_dropped_word_by_hand(gold: list[SquadExample]) -> None:
    (when,) = [ex for ex in gold if ex.qid == WHEN_QID]
    # Golds normalise to "10th and 11th centuries" (4 tokens) and "in 10th and 11th centuries"
    # (5). Dropping "centuries": P=1, R=3/4 -> F1 = 2*0.75/1.75 = 6/7 (vs 3/4 for the other).
    scores = squad_v2_scores([when], {WHEN_QID: "10th and 11th"})
    assert scores["exact"] == 0.0
    assert scores["f1"] == pytest.approx(100 * 6 / 7)
    assert set(scores) == {"exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total"}


def test_answering_an_unanswerable_question_scores_zero(gold: list[SquadExample]) -> None:
    (impossible,) = [ex for ex in gold if ex.qid == IMPOSSIBLE_QID]
    scores = squad_v2_scores([impossible], {IMPOSSIBLE_QID: "Normans"})
    assert scores["exact"] == scores["f1"] == scores["NoAns_exact"] == 0.0
    assert "HasAns_exact" not in scores
    assert squad_v2_scores([impossible], {IMPOSSIBLE_QID: ""})["NoAns_f1"] == 100.0


def test_normalize_answer() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_answer("An apple a day.") == "apple day"
    assert normalize_answer("theatre another") == "theatre another"  # articles are whole words
    assert normalize_answer("  U.S.-based\tfirm ") == "usbased firm"
    assert normalize_answer("the") == ""
    assert get_tokens("") == [] and get_tokens("The cat") == ["cat"]


def test_compute_exact_and_f1_by_hand() -> None:
    assert compute_exact("The Cat", "cat.") == 1
    assert compute_exact("cat", "cats") == 0
    # gold [cat, sat, on, mat], pred [cat, on, mat]: P = 1, R = 3/4 -> 6/7.
    assert compute_f1("the cat sat on the mat", "cat on mat") == pytest.approx(6 / 7)
    # Multiset overlap: gold [x, x, y], pred [x, y, y] share 2 -> P = R = 2/3.
    assert compute_f1("x x y", "x y y") == pytest.approx(2 / 3)
    # pred [red, big, car] vs gold [car]: P = 1/3, R = 1 -> 1/2.
    assert compute_f1("car", "red big car") == pytest.approx(0.5)
    assert compute_f1("car", "bus") == 0
    # No tokens on either side: 1 only if both are empty.
    assert compute_f1("", "") == 1
    assert compute_f1("", "an answer") == 0
    assert compute_f1("Paris", "") == 0
    assert compute_f1("the", "a") == 1


def test_empty_normalised_golds_are_dropped() -> None:
    # "." normalises to empty and is dropped, leaving "Paris".
    assert squad_v2_scores([SquadExample("q", [".", "Paris"])], {"q": "paris"})["exact"] == 100.0
    # With nothing left the gold is [""], yet (as officially) the question stays in HasAns.
    only_punct = squad_v2_scores([SquadExample("q", ["."])], {"q": ""})
    assert only_punct["HasAns_exact"] == 100.0 and "NoAns_exact" not in only_punct
    assert squad_v2_scores({"q": ["", ""]}, {"q": ""})["NoAns_exact"] == 100.0


def test_threshold_is_strict() -> None:
    has = SquadExample("has", ["Paris"])
    no = SquadExample("no", [])
    preds = {"has": "Paris", "no": "London"}
    at = squad_v2_scores([has, no], preds, {"has": 0.5, "no": 0.5}, na_prob_thresh=0.5)
    assert at["HasAns_exact"] == 100.0 and at["NoAns_exact"] == 0.0  # equal: not abstained
    above = squad_v2_scores([has, no], preds, {"has": 0.75, "no": 0.75}, na_prob_thresh=0.5)
    assert above["HasAns_exact"] == 0.0 and above["NoAns_exact"] == 100.0
    scores = apply_no_ans_threshold(
        {"has": 1, "no": 0}, {"has": 0.5, "no": 0.6}, {"has": True, "no": False}, 0.5
    )
    assert scores == {"has": 1, "no": 1.0}


def test_best_threshold_by_hand() -> None:
    # Start at 1 (one unanswerable); "has" (p=0.2) adds 1 -> 2, best at 0.2; "no" (p=0.9)
    # has a non-empty prediction so subtracts 1. Best = 100 * 2 / 2.
    preds = {"has": "Paris", "no": "London"}
    has_ans = {"has": True, "no": False}
    probs = {"no": 0.9, "has": 0.2}
    assert find_best_thresh(preds, {"has": 1, "no": 0}, probs, has_ans) == (100.0, 0.2)
    # Never improving keeps the initial threshold 0.0.
    assert find_best_thresh(preds, {"has": 0, "no": 0}, probs, has_ans) == (50.0, 0.0)


def test_missing_prediction_or_probability_raises() -> None:
    examples = [SquadExample("a", ["x"]), SquadExample("b", [])]
    with pytest.raises(ValueError, match="no prediction: b"):
        squad_v2_scores(examples, {"a": "x"})
    with pytest.raises(ValueError, match="no-answer probability: a"):
        squad_v2_scores(examples, {"a": "x", "b": ""}, {"b": 0.1})
    with pytest.raises(ValueError, match="duplicated"):
        squad_v2_scores([examples[0], examples[0]], {"a": "x"})
