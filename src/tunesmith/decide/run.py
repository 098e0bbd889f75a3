"""``tunesmith decide``, top to bottom: should this run fine-tune at all?

1. the decision's questions (``decide.split``) and the run's documents, chunked and indexed;
2. the baselines with the base model and no training: zero-shot, few-shot, chain-of-thought,
   RAG with BM25 and with MiniLM retrieval (the question alone retrieves), each other model
   zero-shot; and the closed-book probe;
3. the seed's criteria, the recommendation, the cost-benefit;
4. ``decide/decision.json`` and ``decide/predictions.jsonl``, written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, read_records
from tunesmith.decide.baselines import (
    Answered,
    answer,
    decision_questions,
    knows_answer,
    longest_reference_words,
    retrieval_questions,
    run_baseline,
)
from tunesmith.decide.cost import cost_benefit, per_1k_answers, training_cost
from tunesmith.decide.criteria import PROMPTING, best, evaluate_criteria, recommend
from tunesmith.decide.prompts import (
    choose_shots,
    closed_book_prompts,
    cot_prompts,
    few_shot_prompts,
    final_answer,
    zero_shot_prompts,
)
from tunesmith.decide.retrieve import Retrieval, corpus_chunks, retrieve_for
from tunesmith.errors import TunesmithError
from tunesmith.inference import Predictor, load_predictor
from tunesmith.models.loading import resolve_base_model
from tunesmith.utils.io import write_json_atomic, write_jsonl_atomic
from tunesmith.utils.layout import RunLayout

BASELINES = ("zero_shot", "few_shot", "cot", "rag_bm25", "rag_embedding")


def run_decide(config: RunConfig, console: Console | None = None) -> dict[str, Any]:
    """Score the baselines, weigh the seed's criteria and write the decision; returns it.
    The data and model stages must have run (``tunesmith decide`` runs them first)."""
    if config.model.task != "causal_lm":
        raise TunesmithError(f"model.task: decide compares prompting with fine-tuning a causal "
                             f"LM; {config.model.task!r} is an encoder task")
    decide = config.decide
    layout = RunLayout.of(config)
    records = decision_questions(config, layout)
    if not layout.train_jsonl.exists():
        raise TunesmithError(f"{layout.train_jsonl}: no training split (few-shot draws its "
                             "examples from it); run `tunesmith data build CONFIG`")
    train = read_records(layout.train_jsonl)
    rag_records = retrieval_questions(records)
    chunks = corpus_chunks(config)
    retrieval = retrieve_for(chunks, rag_records, decide.retrieval_k)
    max_words = decide.max_answer_words or longest_reference_words(records)

    predictor = load_predictor(config, layout, "base")
    answered = {a.name: a for a in answer_with(predictor, config, records, rag_records,
                                               retrieval, max_words, train, console)}
    closed = closed_book(predictor, config, records, console)
    tokens_per_example = training_tokens(predictor.tokenizer, config, train)
    del predictor  # one model in memory at a time
    for name in decide.other_models:
        answered[f"model:{name}"] = other_model(config, layout, name, records, max_words,
                                                console)

    baselines = {name: a.metrics for name, a in answered.items()}
    examples = count_examples(layout)
    criteria = evaluate_criteria(decide, baselines, examples, closed["share"],
                                 {n: r.recall for n, r in retrieval.items()})
    recommendation, reasons = recommend(criteria)
    best_prompt, _ = best(baselines, PROMPTING)
    prompt_metrics = baselines[best_prompt or "zero_shot"]
    serving = per_1k_answers(config, baselines["zero_shot"]["p50_ms"],
                             prompt_metrics["prompt_tokens"], prompt_metrics["answer_tokens"])
    _, best_f1 = best(baselines)
    decision = {
        "run": config.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": config.model.name,
        "questions": {"split": decide.split, "count": len(records),
                      "ids": [r.id for r in records], "rag_count": len(rag_records),
                      "left_out_of_rag": len(records) - len(rag_records)},
        "target_f1": decide.target_f1, "min_gap": decide.min_gap,
        "baselines": baselines,
        "retrieval": {"chunks": len(chunks), "k": decide.retrieval_k,
                      **{n: {"recall_at_k": r.recall, "judged": r.judged}
                         for n, r in retrieval.items()}},
        "closed_book": closed,
        "data": {"examples": examples, "train": len(train), "range": list(decide.data_range)},
        "criteria": [c.to_dict() for c in criteria],
        "recommendation": recommendation,
        "reasons": reasons,
        "cost": cost_benefit(config, examples, training_cost(config, len(train),
                                                             tokens_per_example),
                             serving, best_f1),
    }
    write_jsonl_atomic(layout.decide_predictions,
                       [row for a in answered.values() for row in a.rows])
    write_json_atomic(layout.decision, decision)
    return decision


def answer_with(predictor: Predictor, config: RunConfig, records: Sequence[QARecord],
                rag_records: Sequence[QARecord], retrieval: dict[str, Retrieval],
                max_words: int, train: Sequence[QARecord] | None,
                console: Console | None) -> list[Answered]:
    """The baselines with ``predictor``: the prompting ones when ``train`` is given (few-shot
    draws from it), and RAG with each retriever's contexts."""
    decide, guard = config.decide, config.guard
    system, abstain = guard.system_message(), guard.abstain_text
    tokenizer = predictor.tokenizer
    new = decide.max_new_tokens or config.eval.max_new_tokens
    done = [run_baseline("zero_shot", predictor, records,
                         zero_shot_prompts(tokenizer, records, system), config,
                         max_new_tokens=new, max_words=max_words, console=console)]
    if train is not None:
        shots = choose_shots(train, decide.few_shot_k, config.seed)
        done.append(run_baseline(
            "few_shot", predictor, records,
            few_shot_prompts(tokenizer, records, system, shots, abstain), config,
            max_new_tokens=new, max_words=max_words, console=console))
        done.append(run_baseline(
            "cot", predictor, records, cot_prompts(tokenizer, records, system, abstain), config,
            max_new_tokens=decide.cot_max_new_tokens, max_words=max_words, parse=final_answer,
            console=console))
    for name, found in retrieval.items():
        if not rag_records:
            continue
        prompts = zero_shot_prompts(
            tokenizer, [r.model_copy(update={"contexts": [c]})
                        for r, c in zip(rag_records, found.contexts, strict=True)], system)
        result = run_baseline(f"rag_{name}", predictor, rag_records, prompts, config,
                              max_new_tokens=new, max_words=max_words, console=console)
        # the zero-shot's F1 on the same questions, its gold context given: what retrieval costs
        gold = {row["id"]: row["f1"] for row in done[0].rows}
        result.metrics.update({"recall_at_k": found.recall, "judged": found.judged,
                               "f1_gold_context": 100.0 * float(np.mean(
                                   [gold[r.id] for r in rag_records]))})
        for row, ids in zip(result.rows, found.chunk_ids, strict=True):
            row["retrieved"] = ids
        done.append(result)
    return done


def closed_book(predictor: Predictor, config: RunConfig, records: Sequence[QARecord],
                console: Console | None) -> dict[str, Any]:
    """The share of answerable questions the model answers right with no context at all."""
    answerable = [r for r in records if r.answerable]
    if not answerable:
        return {"share": None, "questions": 0}
    replies = answer(predictor, closed_book_prompts(predictor.tokenizer, answerable), config,
                     config.decide.max_new_tokens or config.eval.max_new_tokens,
                     "closed book (base)", console, abstain=False)
    right = [knows_answer(r, g.text) for r, g in zip(answerable, replies, strict=True)]
    return {"share": sum(right) / len(right), "questions": len(right),
            "right": [r.id for r, ok in zip(answerable, right, strict=True) if ok]}


def training_tokens(tokenizer: Any, config: RunConfig, train: Sequence[QARecord]) -> float:
    """Mean tokens of a training sequence (the prompt and its answer, up to
    ``train.max_length``): the planner's time is per token."""
    if not train:
        return float(config.train.max_length)
    prompts = zero_shot_prompts(tokenizer, train, config.guard.system_message())
    lengths = [len(tokenizer(p + (r.answer or config.guard.abstain_text),
                             add_special_tokens=False)["input_ids"])
               for p, r in zip(prompts, train, strict=True)]
    return float(np.mean(np.minimum(lengths, config.train.max_length)))


def other_model(config: RunConfig, layout: RunLayout, name: str, records: Sequence[QARecord],
                max_words: int, console: Console | None) -> Answered:
    """Another (smaller or larger) model, zero-shot with the same prompt."""
    if name == "tiny":
        raise TunesmithError("decide.other_models: 'tiny' is built from a run's corpus; give "
                             "the folder of a built one")
    base = resolve_base_model(config.model.model_copy(update={"name": name}), [], config.seed)
    predictor = load_predictor(config, layout, "base", base_model=base)
    result = run_baseline(f"model:{name}", predictor, records,
                          zero_shot_prompts(predictor.tokenizer, records,
                                            config.guard.system_message()), config,
                          max_new_tokens=config.decide.max_new_tokens
                          or config.eval.max_new_tokens, max_words=max_words, console=console)
    return result


def count_examples(layout: RunLayout) -> int:
    """Curated examples available: the records of every split the data build wrote."""
    total = 0
    for split in ("train", "val", "test"):
        path = layout.split(split)
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                total += sum(1 for line in handle if line.strip())
    return total
