"""Gates, decisions, calibration sweeps and abstention metrics: pure logic, checked by hand and
against the official SQuAD 2.0 script's outputs on the real dev sample."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from tunesmith.config import GuardConfig
from tunesmith.guard import GATES, INSUFFICIENT_CONTEXT, Signals, decide, validate_output
from tunesmith.guard.calibrate import best_f1_threshold, calibrate, default_gates
from tunesmith.metrics.abstention import (
    abstention_scores,
    calibration_bins,
    coverage_risk,
    threshold_at_risk,
)
from tunesmith.metrics.squad_v2 import (
    SquadExample,
    find_best_thresh,
    get_raw_scores,
    load_squad_v2_gold,
    squad_v2_scores,
)


def test_every_gate_has_its_seed_default() -> None:
    expected = {"confidence": 0.75, "min_confidence": 0.75, "perplexity": 150.0,
                "similarity": 0.8, "min_tokens": 5.0}
    for name, value in expected.items():
        assert GATES.get(name).default == value
        assert GATES.get(name).seed.startswith("seed:")
    assert {"rejection_head", "null_score", "context_length", "multitask_head"} <= set(GATES)


def test_gate_values_and_directions() -> None:
    s = Signals("How does replication work across the cluster nodes?", "x" * 100,
                "it copies", token_probs=[0.9, 0.5], similarity=0.7, p_unanswerable=0.6)
    assert GATES.get("confidence").value(s) == pytest.approx(0.7)
    assert GATES.get("min_confidence").value(s) == 0.5
    assert GATES.get("perplexity").value(s) == pytest.approx(math.exp(-(math.log(0.9)
                                                                         + math.log(0.5)) / 2))
    assert GATES.get("min_tokens").value(s) == 2.0  # a "how" question is complex
    assert GATES.get("context_length").value(s) == pytest.approx(100 / 8)
    assert GATES.get("similarity").fires(0.7, 0.8) and not GATES.get("similarity").fires(0.8, 0.8)
    assert GATES.get("rejection_head").fires(0.6, 0.5)
    assert not GATES.get("perplexity").fires(None, 150.0)  # no signal: never fires
    simple = Signals("Who?", "ctx", "Rollo")
    assert GATES.get("min_tokens").value(simple) is None


def test_decide_and_the_published_schema() -> None:
    guard = GuardConfig()
    ok = decide(Signals("Which port?", "The port is 5672.", "5672", token_probs=[0.95],
                        similarity=0.9), ["confidence", "similarity"], {}, guard.abstain_text,
                model="m", task="causal_lm")
    assert not ok.rejection_flag and ok.answer == "5672"
    low = decide(Signals("Which port?", "The port is 5672.", "5672", token_probs=[0.2],
                         similarity=0.9), ["confidence", "similarity"], {}, guard.abstain_text,
                 model="m", task="causal_lm")
    assert low.rejection_flag and low.answer == guard.abstain_text
    assert low.fired == ["confidence"]
    short = decide(Signals("Why does the broker drop messages under load?", "c" * 500, "yes"),
                   ["min_tokens"], {}, guard.abstain_text, model="m", task="causal_lm")
    assert short.answer == INSUFFICIENT_CONTEXT and short.rejection_flag
    for result in (ok, low, short):
        payload = result.to_json()
        validate_output(payload)
        json.dumps(payload)
    with pytest.raises(jsonschema.ValidationError):
        validate_output({**ok.to_json(), "rejection_flag": "no"})


def _examples() -> list[SquadExample]:
    return [SquadExample("a", ["Paris"]), SquadExample("b", ["blue sky"]),
            SquadExample("c", []), SquadExample("d", [])]


def test_abstention_scores_by_hand() -> None:
    preds = {"a": "Paris", "b": "", "c": "", "d": "London"}
    s = abstention_scores(_examples(), preds)
    assert s["abstain_precision"] == 50.0  # abstained on b (wrong) and c (right)
    assert s["abstain_recall"] == 50.0  # c of {c, d}
    assert s["hallucination_rate"] == 0.5  # d answered though unanswerable
    assert s["false_abstain_rate"] == 0.5  # b abstained on though answerable
    assert s["abstain_f1"] == 50.0


def test_coverage_risk_and_aurc_by_hand() -> None:
    preds = {"a": "Paris", "b": "green sky", "c": "x", "d": "y"}
    na = {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}
    curve = coverage_risk(_examples(), preds, na)
    # F1: a 1, b 0.5, c 0, d 0 -> risks 0, 0.25, 0.5, 0.625
    assert curve["risk"] == pytest.approx([0.0, 0.25, 0.5, 0.625])
    assert curve["aurc"] == pytest.approx((0 + 0.25 + 0.5 + 0.625) / 4)
    t, cov, risk = threshold_at_risk(_examples(), preds, na, 0.3)
    assert (t, cov, risk) == (0.2, 0.5, 0.25)
    assert threshold_at_risk(_examples(), {**preds, "a": "Rome"}, na, 0.1)[0] is None


def test_calibration_bins_and_ece_by_hand() -> None:
    out = calibration_bins([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0], bins=2)
    assert out["ece"] == pytest.approx(0.5 * abs(0.5 - 0.9) + 0.5 * abs(0.0 - 0.1))
    assert [b["count"] for b in out["bins"]] == [2, 2]


def test_best_f1_threshold_agrees_with_the_official_sweep() -> None:
    examples = _examples()
    preds = {"a": "Paris", "b": "sky", "c": "x", "d": ""}
    na = {"a": 0.1, "b": 0.5, "c": 0.3, "d": 0.9}
    threshold, f1 = best_f1_threshold(examples, preds, na)
    _, raw_f1 = get_raw_scores(examples, preds)
    official, official_t = find_best_thresh(preds, raw_f1, na, {e.qid: e.has_answer
                                                                 for e in examples})
    assert f1 == pytest.approx(official)
    # answering where na <= threshold gives that F1
    gated = {q: (p if na[q] <= threshold else "") for q, p in preds.items()}
    assert squad_v2_scores(examples, gated)["f1"] == pytest.approx(f1)
    assert official_t == threshold


def test_sweep_on_the_real_sample_matches_official_to_1e6(squad_sample_dir: Path) -> None:
    gold = load_squad_v2_gold(squad_sample_dir / "dev-sample.json")
    oracle = squad_sample_dir / "official-scores"
    preds = json.loads((oracle / "pred-perturbed.json").read_text())
    na = json.loads((oracle / "na-prob-informative.json").read_text())
    expected = json.loads((oracle / "official-perturbed-na-informative.json").read_text())
    threshold, f1 = best_f1_threshold(gold, preds, na)
    assert abs(f1 - expected["best_f1"]) < 1e-6
    gated = {q: (p if na[q] <= threshold else "") for q, p in preds.items()}
    assert abs(squad_v2_scores(gold, gated)["f1"] - expected["best_f1"]) < 1e-6
    abstain = json.loads((oracle / "pred-abstain.json").read_text())
    a = abstention_scores(gold, abstain)
    assert a["abstain_recall"] == 100.0 and a["hallucination_rate"] == 0.0
    assert abs(a["abstain_precision"] - 100.0 * 333 / 626) < 1e-9


def test_calibrate_moves_thresholds_off_the_seed_defaults() -> None:
    # similarity separates answerable (0.6) from unanswerable (0.2); the seed's 0.8 rejects all
    examples = [SquadExample(f"h{i}", ["yes"]) for i in range(6)] + \
               [SquadExample(f"n{i}", []) for i in range(6)]
    signals = [Signals("q", "ctx", "yes", similarity=0.6) for _ in range(6)] + \
              [Signals("q", "ctx", "yes", similarity=0.2) for _ in range(6)]
    result = calibrate(examples, signals, ["similarity"], GuardConfig())
    assert 0.2 < result.thresholds["similarity"] <= 0.6  # fires below: 0.6 passes, 0.2 not
    row = result.table[0]
    assert row["seed_default"] == 0.8 and row["seed_f1"] == pytest.approx(50.0)
    assert row["calibrated_f1"] == pytest.approx(100.0)
    assert result.summary["f1_no_gates"] == pytest.approx(50.0)
    risk = GuardConfig.model_validate({"calibrate": {"objective": "risk", "target_risk": 0.1}})
    assert calibrate(examples, signals, ["similarity"], risk).summary["f1_calibrated"] \
        == pytest.approx(100.0)


def test_default_gates_follow_the_task() -> None:
    assert default_gates("extractive_qa", True)[:2] == ["null_score", "rejection_head"]
    assert "perplexity" in default_gates("causal_lm", False)
    assert "rejection_head" not in default_gates("causal_lm", False)


def test_no_answer_prob_gate_fires_above_and_is_calibrated() -> None:
    gate = GATES.get("no_answer_prob")
    assert gate.default == 0.5 and gate.direction == "above"
    assert gate.value(Signals("q", "c", "a", p_no_answer=0.7)) == 0.7
    assert gate.fires(0.7, 0.5) and not gate.fires(0.5, 0.5) and not gate.fires(0.3, 0.5)
    assert not gate.fires(gate.value(Signals("q", "c", "a")), 0.5)  # no signal: never fires
    assert "no_answer_prob" in default_gates("causal_lm", False)
    assert "no_answer_prob" not in default_gates("extractive_qa", False)
    # the model answers everywhere; its own P(abstain) is 0.3 where the context answers and 0.4
    # where it does not: the seed's 0.5 fires nowhere, calibration moves it between the two
    examples = [SquadExample(f"h{i}", ["yes"]) for i in range(4)] + \
               [SquadExample(f"n{i}", []) for i in range(4)]
    signals = [Signals("q", "ctx", "yes", p_no_answer=0.3) for _ in range(4)] + \
              [Signals("q", "ctx", "yes", p_no_answer=0.4) for _ in range(4)]
    result = calibrate(examples, signals, ["no_answer_prob"], GuardConfig())
    assert 0.3 <= result.thresholds["no_answer_prob"] < 0.4
    assert result.table[0]["seed_f1"] == pytest.approx(50.0)
    assert result.table[0]["calibrated_f1"] == pytest.approx(100.0)


def test_a_gate_never_turns_the_models_abstention_into_an_answer() -> None:
    guard = GuardConfig()
    s = Signals("q", "ctx", guard.abstain_text, p_no_answer=0.6)
    result = decide(s, ["no_answer_prob"], {"no_answer_prob": 0.9}, guard.abstain_text)
    assert result.fired == [] and result.rejection_flag and result.answer == guard.abstain_text


def test_na_score_prefers_the_causal_lms_own_no_answer_probability() -> None:
    from tunesmith.evaluate.guarded import na_score

    s = Signals("q", "c", "a", token_probs=[0.9], p_unanswerable=0.2, p_no_answer=0.7)
    assert na_score(s, "causal_lm") == 0.7
    assert na_score(Signals("q", "c", "a", p_unanswerable=0.2), "causal_lm") == 0.2
    assert na_score(Signals("q", "c", "a", token_probs=[0.9]), "causal_lm") == \
        pytest.approx(0.1)


def test_gate_auroc_by_hand() -> None:
    from tunesmith.evaluate.guarded import auroc, gate_auroc

    assert auroc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert auroc([0.1, 0.9], [True, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [True, False, False]) == 0.5  # ties count half
    assert auroc([0.1, 0.3, 0.2, 0.4], [False, True, True, False]) == 0.5
    assert auroc([0.1, 0.2], [True, True]) is None
    examples = [SquadExample("h", ["yes"]), SquadExample("n", []), SquadExample("m", [])]
    signals = [Signals("q", "c", "yes", p_no_answer=0.2, similarity=0.9),
               Signals("q", "c", "yes", p_no_answer=0.8, similarity=0.1),
               Signals("q", "c", "yes", similarity=0.5)]
    rows = {r["gate"]: r for r in gate_auroc(examples, signals,
                                             ["no_answer_prob", "similarity", "perplexity"])}
    assert rows["no_answer_prob"] == {"gate": "no_answer_prob", "auroc": 1.0, "with_signal": 2}
    assert rows["similarity"]["auroc"] == 1.0  # fires below: low similarity = abstain
    assert rows["perplexity"]["auroc"] is None and rows["perplexity"]["with_signal"] == 0
