"""``run_decide`` end to end on the tiny LM: every baseline answers and is scored, the criteria
and the recommendation are written, and the outcome check scores a tuned model beside them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, write_records
from tunesmith.decide import BASELINES, check_outcome, run_decide
from tunesmith.decide.retrieve import corpus_chunks
from tunesmith.errors import TunesmithError
from tunesmith.pipeline.run import _eval_inputs, _run_eval_and_check
from tunesmith.utils.layout import RunLayout

DOCS = {
    "broker": "The broker listens on port 7420 by default. The broker was released in "
              "March 2021 by the platform team.",
    "retention": "The retention period is seven days. Old segments are deleted by the "
                 "cleaner thread every hour.",
    "photo": "Photosynthesis converts light energy into chemical energy stored in glucose. "
             "It takes place in the chloroplasts.",
}


def _record(rid: str, doc: str, question: str, answer: str | None, **provenance: str) -> QARecord:
    text = DOCS[doc]
    start = text.index(answer) if answer else None
    return QARecord(id=rid, question=question, contexts=[text], answer=answer,
                    answer_start=start, kind="answerable" if answer else "unanswerable",
                    source_doc_ids=[f"{doc}.md"],
                    provenance={"context_id": f"{doc}.md#0", **provenance})


VAL = [
    _record("v1", "broker", "Which port does the broker listen on?", "7420"),
    _record("v2", "retention", "How long is the retention period?", "seven days"),
    _record("v3", "photo", "Where does photosynthesis take place?", "chloroplasts"),
    # a mismatch negative: the question is answerable from the corpus, so RAG leaves it out
    _record("v4", "photo", "Which port does the broker listen on?", None, generator="mismatch"),
]
TRAIN = [
    _record("t1", "broker", "When was the broker released?", "March 2021"),
    _record("t2", "retention", "What deletes old segments?", "cleaner thread"),
    _record("t3", "photo", "What is stored in glucose?", "chemical energy"),
    _record("t4", "broker", "What converts light energy?", None, generator="mismatch"),
]


def _config(tmp_path: Path, **decide: object) -> RunConfig:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (corpus / f"{name}.md").write_text(text + "\n", encoding="utf-8")
    return RunConfig.model_validate({
        "name": "decide", "output_dir": str(tmp_path / "runs"),
        "data": {"sources": [{"path": str(corpus)}]},
        "eval": {"max_new_tokens": 4, "batch_size": 4, "split": "val"},
        "decide": {"few_shot_k": 2, "retrieval_k": 1, "cot_max_new_tokens": 8,
                   "latency_questions": 2, **decide},
    })


@pytest.fixture
def decided(tmp_path: Path, run_with_base: Callable[[Path], Path]) -> tuple[RunConfig, dict]:
    config = _config(tmp_path)
    layout = RunLayout(run_with_base(config.run_dir))
    write_records(layout.val_jsonl, VAL)
    write_records(layout.train_jsonl, TRAIN)
    return config, run_decide(config)


def test_every_baseline_is_answered_and_scored(decided: tuple[RunConfig, dict]) -> None:
    config, decision = decided
    assert set(decision["baselines"]) == set(BASELINES)
    for name, metrics in decision["baselines"].items():
        for key in ("f1", "hallucination_rate", "p50_ms", "p95_ms"):
            assert metrics[key] is not None, (name, key)
        assert 0 <= metrics["f1"] <= 100 and 0 <= metrics["hallucination_rate"] <= 1
        assert 0 < metrics["p50_ms"] <= metrics["p95_ms"]
        assert metrics["latency_questions"] == 2
    base = decision["baselines"]
    assert base["zero_shot"]["questions"] == 4
    assert base["rag_bm25"]["questions"] == 3  # the mismatch negative is left out of RAG
    # few-shot prompts carry the worked examples: longer than zero-shot's
    assert base["few_shot"]["prompt_tokens"] > base["zero_shot"]["prompt_tokens"]
    assert 0 <= base["cot"]["final_answer_rate"] <= 1
    # BM25 finds each question's own document here (distinct words)
    assert base["rag_bm25"]["recall_at_k"] == 1.0
    assert 0 <= base["rag_bm25"]["f1_gold_context"] <= 100  # zero-shot on the same questions
    assert decision["retrieval"]["chunks"] == len(corpus_chunks(config)) == 3


def test_the_decision_file_has_criteria_recommendation_and_costs(
        decided: tuple[RunConfig, dict]) -> None:
    config, decision = decided
    written = json.loads(RunLayout.of(config).decision.read_text())
    assert written["recommendation"] == decision["recommendation"]
    assert decision["recommendation"] in ("prompt", "RAG", "fine-tune", "RAG + fine-tune")
    names = [c["name"] for c in decision["criteria"]]
    assert names[:3] == ["performance_gap", "data_available", "knowledge_not_public"]
    data = next(c for c in decision["criteria"] if c["name"] == "data_available")
    assert data["value"] == 8 and data["passed"] is False  # 8 examples, not the seed's 500
    assert decision["recommendation"] != "fine-tune"  # the rule needs the data
    cost = decision["cost"]
    assert cost["training"]["gpu"] == "a100-80gb" and cost["training"]["usd"] > 0
    assert cost["annotation"]["examples"] == 500  # at least the seed's minimum is curated
    assert cost["one_off_usd"]["high"] > cost["one_off_usd"]["low"]
    assert set(cost["per_1k_answers_usd"]["apis"]) == {"gpt-4o-mini", "gpt-4o"}
    rows = [json.loads(line) for line in
            RunLayout.of(config).decide_predictions.read_text().splitlines()]
    assert {r["baseline"] for r in rows} == set(BASELINES)
    assert all(len(r["retrieved"]) == 1 for r in rows if r["baseline"].startswith("rag_"))


def test_the_outcome_puts_the_tuned_model_beside_the_baselines(
        decided: tuple[RunConfig, dict], tiny_lm: str) -> None:
    config, decision = decided
    layout = RunLayout.of(config)
    assert check_outcome(config, layout.root) is None  # nothing trained yet
    # a merged model folder is a valid trained model: the tiny LM itself stands in for one
    layout.adapter.parent.mkdir(parents=True, exist_ok=True)
    layout.adapter.symlink_to(Path(tiny_lm), target_is_directory=True)
    # eval's stage checks the decision after scoring (and hashes it among its inputs)
    assert "decide/decision.json" in _eval_inputs(config, layout.root)
    details = _run_eval_and_check(config, layout.root, Console(quiet=True))
    assert set(details["decide"]) == {"best_baseline_f1", "best_tuned_f1", "gain_f1", "held"}
    outcome = json.loads(layout.decide_outcome.read_text())
    assert outcome["same_questions"] and outcome["decision_created"] == decision["created"]
    assert set(outcome["models"]) == {"tuned", "rag_bm25_tuned", "rag_embedding_tuned"}
    # the same weights as the base answer the same prompts the same way (greedy)
    assert outcome["models"]["tuned"]["f1"] == pytest.approx(
        decision["baselines"]["zero_shot"]["f1"])
    assert outcome["held"] is not None and outcome["verdict"].startswith(("held", "did not"))
    assert check_outcome(config.model_copy(update={"decide": config.decide.model_copy(
        update={"check_after_eval": False})}), layout.root) is None


def test_a_missing_split_is_a_user_error_naming_the_file(
        tmp_path: Path, run_with_base: Callable[[Path], Path]) -> None:
    config = _config(tmp_path)
    run_with_base(config.run_dir)
    with pytest.raises(TunesmithError, match="val.jsonl: no val split"):
        run_decide(config)


def test_another_model_is_scored_zero_shot_beside_the_base(
        tmp_path: Path, run_with_base: Callable[[Path], Path], tiny_lm: str) -> None:
    config = _config(tmp_path, other_models=[tiny_lm])
    layout = RunLayout(run_with_base(config.run_dir))
    write_records(layout.val_jsonl, VAL)
    write_records(layout.train_jsonl, TRAIN)
    decision = run_decide(config)
    other = decision["baselines"][f"model:{tiny_lm}"]
    assert other["f1"] == pytest.approx(decision["baselines"]["zero_shot"]["f1"])  # same weights
    with pytest.raises(TunesmithError, match="other_models: 'tiny'"):
        run_decide(_config(tmp_path, other_models=["tiny"]))
