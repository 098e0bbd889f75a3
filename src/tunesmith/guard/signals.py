"""Compute the gates' signals for many questions at once, for any task.

- extractive QA: the span, its probability and the null-score difference;
- causal LM: a greedy answer, the probability of each of its tokens (``output_scores``) and
  the model's own probability of replying with ``guard.abstain_text`` (``p_no_answer``);
- the rejection head's P(unanswerable), when one was trained;
- the question-context cosine similarity with the encoder (sentence-transformers).

Models load and generate through ``tunesmith.inference`` (``load_predictor``,
``generate_answers``), the same path evaluation takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.guard.gates import Signals
from tunesmith.guard.no_answer import no_answer_threshold
from tunesmith.inference import Predictor, generate_answers, inference_device
from tunesmith.inference.encoder import (
    TASK_FILE,
    encoder_path,
    load_trained_encoder,
    predict_spans,
    predict_unanswerable,
)
from tunesmith.utils.layout import RunLayout


def has_rejection_head(run: RunLayout | Path) -> bool:
    """Whether the run trained a rejection head (without loading it)."""
    directory = (run if isinstance(run, RunLayout) else RunLayout(run)).answerability
    return (directory / TASK_FILE).exists()


def load_rejection_head(run: RunLayout | Path) -> tuple[Any, Any] | None:
    """The trained rejection head of the run, if there is one."""
    if not has_rejection_head(run):
        return None
    directory = (run if isinstance(run, RunLayout) else RunLayout(run)).answerability
    model, tokenizer, _ = load_trained_encoder(directory)
    return model.to(inference_device()), tokenizer


class SimilarityModel:
    """Cosine similarity of question and context embeddings (sentence-transformers)."""

    def __init__(self, name: str):
        from sentence_transformers import SentenceTransformer  # heavy: only when used

        self.model = SentenceTransformer(encoder_path(name), device="cpu")

    def similarities(self, questions: Sequence[str], contexts: Sequence[str]) -> list[float]:
        unique = list(dict.fromkeys(contexts))
        ctx = self.model.encode(unique, convert_to_tensor=True, normalize_embeddings=True,
                                show_progress_bar=False)
        q = self.model.encode(list(questions), convert_to_tensor=True, normalize_embeddings=True,
                              show_progress_bar=False)
        where = {c: i for i, c in enumerate(unique)}
        index = torch.tensor([where[c] for c in contexts])
        return (q * ctx[index]).sum(dim=-1).tolist()


def compute_signals(
    config: RunConfig,
    predictor: Predictor,
    questions: Sequence[str],
    contexts: Sequence[str],
    rejection_head: tuple[Any, Any] | None = None,
    similarity: SimilarityModel | None = None,
    console: Console | None = None,
    max_new_tokens: int | None = None,
) -> list[Signals]:
    """Every signal the gates use, for each (question, context); a causal LM generates at most
    ``max_new_tokens`` (default ``eval.max_new_tokens``)."""
    signals = [Signals(q, c, "") for q, c in zip(questions, contexts, strict=True)]
    g = config.guard
    if predictor.kind == "extractive_qa":
        spans = predict_spans(
            predictor.model, predictor.tokenizer, questions, contexts,
            max_length=config.train.max_length, doc_stride=g.extractive.doc_stride,
            n_best=g.extractive.n_best, max_answer_length=g.extractive.max_answer_length,
            batch_size=config.eval.batch_size, console=console,
            description=f"extracting ({predictor.label})")
        for s, span in zip(signals, spans, strict=True):
            s.answer, s.null_diff = span.text, span.null_diff
            s.span_prob = span.start_prob * span.end_prob
    elif predictor.kind == "causal_lm":
        answers = generate_answers(predictor, questions, contexts, g.system_message(),
                                   max_new_tokens or config.eval.max_new_tokens,
                                   config.eval.batch_size,
                                   scores=True, abstain_text=g.abstain_text,
                                   no_answer_threshold=no_answer_threshold(g, predictor),
                                   console=console)
        for s, answer in zip(signals, answers, strict=True):
            s.answer, s.token_probs = answer.text, answer.token_probs
            s.p_no_answer = answer.p_no_answer
            if answer.p_unanswerable is not None:
                s.extras["multitask_p_unanswerable"] = answer.p_unanswerable
    if predictor.kind == "answerability":
        rejection_head = (predictor.model, predictor.tokenizer)
    if rejection_head is not None:
        probs = predict_unanswerable(rejection_head[0], rejection_head[1], questions, contexts,
                                     max_length=g.rejection_head.max_length,
                                     batch_size=config.eval.batch_size, console=console)
        for s, p in zip(signals, probs, strict=True):
            s.p_unanswerable = p
    if similarity is not None:
        for s, sim in zip(signals, similarity.similarities(questions, contexts), strict=True):
            s.similarity = sim
    return signals
