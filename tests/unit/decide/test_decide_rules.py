"""The pure parts of decide: the seed's criteria and recommendation, the prompts' parsing and
shots, format adherence, the closed-book check, BLEU/ROUGE-L, the outcome's verdict."""

from __future__ import annotations

import pytest

from tunesmith.config.decide import DecideConfig
from tunesmith.data.schema import QARecord
from tunesmith.decide.baselines import format_adherence, knows_answer, retrieval_questions
from tunesmith.decide.criteria import evaluate_criteria, recommend
from tunesmith.decide.outcome import judge
from tunesmith.decide.prompts import choose_shots, final_answer
from tunesmith.metrics.overlap import bleu, mean_words, rouge_l

CFG = DecideConfig()


def _baselines(prompt_f1: float, rag_f1: float) -> dict[str, dict[str, float]]:
    common = {"p95_ms": 300.0, "format_adherence": 0.5}
    return {"zero_shot": {"f1": prompt_f1 - 5, **common}, "few_shot": {"f1": prompt_f1, **common},
            "cot": {"f1": prompt_f1 - 10, **common}, "rag_bm25": {"f1": rag_f1, **common},
            "rag_embedding": {"f1": rag_f1 - 1, **common}}


def _decide(prompt_f1: float, rag_f1: float, examples: int = 800, closed: float = 0.05,
            recall: float = 0.9) -> tuple[str, list]:
    criteria = evaluate_criteria(CFG, _baselines(prompt_f1, rag_f1), examples, closed,
                                 {"bm25": recall, "embedding": recall - 0.1})
    return recommend(criteria)[0], criteria


@pytest.mark.parametrize(("prompt_f1", "rag_f1", "examples", "closed", "recall", "expected"), [
    (65.0, 30.0, 800, 0.05, 0.9, "prompt"),            # within 15 points of the 75 target
    (40.0, 62.0, 800, 0.05, 0.9, "RAG"),               # RAG within the gap, prompting not
    (40.0, 30.0, 800, 0.05, 0.9, "RAG + fine-tune"),   # the rule holds, retrieval works
    (40.0, 30.0, 800, 0.05, 0.5, "fine-tune"),         # the rule holds, retrieval misses
    (40.0, 30.0, 100, 0.05, 0.9, "prompt"),            # too few examples: no fine-tuning
    (30.0, 45.0, 100, 0.05, 0.9, "RAG"),               # too few examples; RAG is closer
    (40.0, 30.0, 800, 0.60, 0.9, "prompt"),            # the knowledge is public
])
def test_the_seeds_rule_and_the_cheapest_alternative(prompt_f1: float, rag_f1: float,
                                                     examples: int, closed: float,
                                                     recall: float, expected: str) -> None:
    assert _decide(prompt_f1, rag_f1, examples, closed, recall)[0] == expected


def test_each_criterion_has_value_threshold_and_verdict() -> None:
    _, criteria = _decide(40.0, 30.0)
    by = {c.name: c for c in criteria}
    assert by["performance_gap"].value == pytest.approx(35.0)  # 75 - the best prompting (40)
    assert by["performance_gap"].threshold == "> 15" and by["performance_gap"].passed
    assert by["data_available"].passed and by["knowledge_not_public"].passed
    assert by["retrieval_recall"].value == pytest.approx(0.9)  # the better retriever
    assert by["format_adherence"].passed is False and by["latency"].passed is True
    assert {c.role for c in criteria} == {"rule", "alternative", "advice"}
    assert "few_shot" in by["performance_gap"].condition


def test_an_unmeasured_criterion_is_not_a_pass() -> None:
    criteria = evaluate_criteria(CFG, _baselines(40.0, 30.0), 800, None, {"bm25": None})
    by = {c.name: c for c in criteria}
    assert by["knowledge_not_public"].passed is None
    recommendation, reasons = recommend(criteria)
    assert recommendation != "fine-tune" and "not measured" in reasons[0]


def test_chain_of_thought_reads_the_last_answer_line() -> None:
    assert final_answer("The context says port 7420.\nAnswer: 7420") == ("7420", True)
    assert final_answer("answer: a\nreasoning\n**Final answer:** b") == ("** b", True)
    assert final_answer("Port 7420 is the default.") == ("Port 7420 is the default.", False)


def _r(rid: str, answer: str | None, **provenance: str) -> QARecord:
    return QARecord(id=rid, question="q?", contexts=[f"c {answer}"], answer=answer,
                    kind="answerable" if answer else "unanswerable", provenance=provenance)


def test_shots_are_originals_and_include_an_abstention() -> None:
    train = [_r(f"a{i}", f"x{i}") for i in range(6)] + [_r("u", None)] + [
        _r("aug", "y", augment="paraphrase")]
    shots = choose_shots(train, 3, seed=0)
    assert len(shots) == 3 and sum(not s.answerable for s in shots) == 1
    assert all("augment" not in s.provenance for s in shots)
    assert shots == choose_shots(train, 3, seed=0)  # seeded


def test_rag_leaves_out_mismatch_negatives_only() -> None:
    records = [_r("a", "x"), _r("m", None, generator="mismatch"),
               _r("adv", None, generator="adversarial")]
    assert [r.id for r in retrieval_questions(records)] == ["a", "adv"]


def test_format_adherence_and_the_closed_book_check() -> None:
    phrase = "[No sufficient context]"
    replies = [phrase, "7420", "The broker listens on port 7420 by default here", f"{phrase} no"]
    assert format_adherence(replies, phrase, max_words=3) == 0.5
    record = _r("a", "seven days")
    assert knows_answer(record, "The retention period is Seven days.")
    assert not knows_answer(record, "It is seven.")
    assert not knows_answer(_r("u", None), "anything")


def test_bleu_and_rouge_l_on_long_answers() -> None:
    refs = [["the broker stores messages for seven days"], [], ["logs rotate every night"]]
    assert mean_words(refs) == pytest.approx(5.5)
    perfect = ["the broker stores messages for seven days", "", "logs rotate every night"]
    assert bleu(perfect, refs) == pytest.approx(100.0)
    assert rouge_l(perfect, refs) == pytest.approx(100.0)
    assert rouge_l(["the broker keeps messages", "", "nothing"], refs) < 50.0
    assert bleu(["x"], [[]]) is None and rouge_l(["x"], [[]]) is None


def test_the_outcome_verdict_follows_the_recommendation() -> None:
    decision = {"min_gap": 15.0, "target_f1": 75.0, "recommendation": "fine-tune",
                "baselines": {"zero_shot": {"f1": 20.0}, "rag_bm25": {"f1": 25.0}}}
    gained = judge(decision, {"tuned": {"f1": 48.0}, "rag_bm25_tuned": {"f1": 30.0}})
    assert gained["gain_f1"] == pytest.approx(23.0) and gained["held"] is True
    assert gained["best_tuned"] == "tuned" and gained["reached_target"] is False
    flat = judge({**decision, "recommendation": "prompt"}, {"tuned": {"f1": 48.0}})
    assert flat["held"] is False and "did not hold" in flat["verdict"]


def test_config_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="data_range"):
        DecideConfig(data_range=(10_000, 500))
    with pytest.raises(ValueError, match="annotation_usd_per_example"):
        DecideConfig.model_validate({"cost": {"annotation_usd_per_example": [10, 3]}})
    with pytest.raises(ValueError, match="extra"):
        DecideConfig.model_validate({"few_shots": 3})
