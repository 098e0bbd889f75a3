"""Compute the gates' signals for many questions at once, for any task.

- extractive QA: the span, its probability and the null-score difference;
- causal LM: a greedy answer and the probability of each of its tokens (``output_scores``);
- the rejection head's P(unanswerable), when one was trained;
- the question-context cosine similarity with the encoder (sentence-transformers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.guard.gates import Signals
from tunesmith.train.callbacks import make_progress

ANSWERABILITY_DIR = "answerability"


@dataclass
class Predictor:
    """One loaded model that proposes answers: a causal LM or an extractive encoder."""

    kind: str  # "causal_lm" | "extractive_qa" | "answerability"
    model: Any
    tokenizer: Any
    label: str  # "base" | "tuned"
    head: Any = None  # causal LM: the multitask answerability head, if trained


def load_predictor(config: RunConfig, run_dir: Path, label: str) -> Predictor:
    """The base or the tuned model of the run."""
    task = config.model.task
    if task in ("extractive_qa", "answerability"):
        from tunesmith.train.encoder import load_encoder, load_trained_encoder

        if label == "tuned":
            model, tokenizer, _ = load_trained_encoder(run_dir / "train" / task)
        else:
            model, tokenizer = load_encoder(config.model.name, task, config.seed)
            model.eval()
        return Predictor(task, model, tokenizer, label)
    from tunesmith.methods.saved import load_tuned
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.pipeline.run import _base_model
    from tunesmith.train.multitask import load_head

    base = _base_model(run_dir)
    tokenizer = load_tokenizer(base, revision=config.model.revision,
                               trust_remote_code=config.model.trust_remote_code)

    def load_base(**kwargs: Any) -> Any:
        return load_causal_lm(base, revision=config.model.revision,
                              trust_remote_code=config.model.trust_remote_code, **kwargs)

    if label == "tuned":
        adapter = run_dir / "train" / "adapter"
        if not adapter.exists():
            raise FileNotFoundError(f"{adapter}: no trained model; run training first")
        lm: Any = load_tuned(load_base, adapter)  # whichever method saved it loads it
        head = load_head(run_dir / "train")
    else:
        lm, head = load_base(), None
    lm.eval()
    return Predictor("causal_lm", lm, tokenizer, label, head)


def load_rejection_head(run_dir: Path) -> tuple[Any, Any] | None:
    """The trained rejection head of the run, if there is one."""
    from tunesmith.train.encoder import TASK_FILE, load_trained_encoder

    directory = run_dir / "train" / ANSWERABILITY_DIR
    if not (directory / TASK_FILE).exists():
        return None
    model, tokenizer, _ = load_trained_encoder(directory)
    return model, tokenizer


class SimilarityModel:
    """Cosine similarity of question and context embeddings (sentence-transformers)."""

    def __init__(self, name: str):
        from sentence_transformers import SentenceTransformer

        from tunesmith.train.encoder import encoder_path

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


@torch.inference_mode()
def generate_with_probs(model: Any, tokenizer: Any, prompts: Sequence[str],
                        max_new_tokens: int, batch_size: int = 16,
                        console: Console | None = None,
                        head: Any = None) -> list[tuple[str, list[float], float | None]]:
    """Greedy answers, the softmax probability of each generated token, and (with the
    multitask ``head``) P(unanswerable) read from the last prompt token's hidden state."""
    tokenizer.padding_side = "left"
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[tuple[str, list[float], float | None]] = [("", [], None)] * len(prompts)
    device = next(model.parameters()).device
    with make_progress(console) as progress:
        task = progress.add_task("generating", total=len(prompts), info="")
        for lo in range(0, len(order), batch_size):
            index = order[lo : lo + batch_size]
            batch = tokenizer([prompts[i] for i in index], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            gen = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id,
                                 output_scores=True, return_dict_in_generate=True)
            new = gen.sequences[:, batch["input_ids"].shape[1]:]
            p_no: list[float | None] = [None] * len(index)
            if head is not None:  # left padding: the prompt ends at the last position
                hidden = model(**batch, output_hidden_states=True).hidden_states[-1][:, -1]
                p_no = torch.softmax(head(hidden), dim=-1)[:, 0].tolist()
            logprobs = model.compute_transition_scores(gen.sequences, gen.scores,
                                                       normalize_logits=True)
            for row, i in enumerate(index):
                keep = [k for k, t in enumerate(new[row].tolist())
                        if t not in (tokenizer.pad_token_id, tokenizer.eos_token_id)]
                text = tokenizer.decode(new[row][keep], skip_special_tokens=True).strip()
                probs = [float(torch.exp(logprobs[row, k])) for k in keep]
                out[i] = (text, probs, p_no[row])
            progress.update(task, advance=len(index))
    return out


def compute_signals(
    config: RunConfig,
    predictor: Predictor,
    questions: Sequence[str],
    contexts: Sequence[str],
    rejection_head: tuple[Any, Any] | None = None,
    similarity: SimilarityModel | None = None,
    console: Console | None = None,
) -> list[Signals]:
    """Every signal the gates use, for each (question, context)."""
    signals = [Signals(q, c, "") for q, c in zip(questions, contexts, strict=True)]
    g = config.guard
    if predictor.kind == "extractive_qa":
        from tunesmith.train.encoder import predict_spans

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
        from tunesmith.models.chat import build_messages

        prompts = [predictor.tokenizer.apply_chat_template(
            build_messages(c, q, g.system_message()), add_generation_prompt=True,
            tokenize=False) for q, c in zip(questions, contexts, strict=True)]
        for s, (text, probs, p_no) in zip(signals, generate_with_probs(
                predictor.model, predictor.tokenizer, prompts, config.eval.max_new_tokens,
                config.eval.batch_size, console, predictor.head), strict=True):
            s.answer, s.token_probs = text, probs
            if p_no is not None:
                s.extras["multitask_p_unanswerable"] = p_no
    if predictor.kind == "answerability":
        rejection_head = (predictor.model, predictor.tokenizer)
    if rejection_head is not None:
        from tunesmith.train.encoder import predict_unanswerable

        probs = predict_unanswerable(rejection_head[0], rejection_head[1], questions, contexts,
                                     max_length=g.rejection_head.max_length,
                                     batch_size=config.eval.batch_size, console=console)
        for s, p in zip(signals, probs, strict=True):
            s.p_unanswerable = p
    if similarity is not None:
        for s, sim in zip(signals, similarity.similarities(questions, contexts), strict=True):
            s.similarity = sim
    return signals
