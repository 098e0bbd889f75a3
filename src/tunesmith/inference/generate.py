"""The one batched generator: every causal-LM answer tunesmith produces comes from here.

Evaluation, calibration, the guard's signals, ``tunesmith answer``, ``compare`` and the bench
all call :func:`generate_answers` (prompts from ``models.chat.build_messages`` and the
tokenizer's chat template) or, with prompts already rendered, :func:`generate`:

- left padding (decoder-only models continue from the last position), the KV cache, greedy;
- prompts sorted by length and batched, so a batch pads little; answers come back in order;
- optionally the probability of each generated token (``output_scores``) and, with the
  multitask head, P(unanswerable) read from the last prompt token's final hidden state (the
  hidden states of generation's first step: no second forward pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from rich.console import Console

from tunesmith.models.chat import build_messages
from tunesmith.utils.progress import make_progress


@dataclass(frozen=True)
class Generation:
    """One greedy answer; ``token_probs`` only when scores were asked for."""

    text: str
    token_probs: list[float] = field(default_factory=list)
    p_unanswerable: float | None = None  # the multitask head's, when the model has one
    tokens: int = 0  # generated tokens, eos and padding excluded


def build_prompts(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                  system: str) -> list[str]:
    """The generation prompt of each (question, context): the training format, exactly."""
    return [tokenizer.apply_chat_template(build_messages(c, q, system),
                                          add_generation_prompt=True, tokenize=False)
            for q, c in zip(questions, contexts, strict=True)]


@torch.inference_mode()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    batch_size: int = 16,
    *,
    scores: bool = False,
    head: Any = None,
    description: str = "generating",
    console: Console | None = None,
) -> list[Generation]:
    """Greedy continuations of ``prompts`` (rendered already), in their order."""
    tokenizer.padding_side = "left"
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[Generation] = [Generation("")] * len(prompts)
    stop = {tokenizer.pad_token_id, tokenizer.eos_token_id}
    with make_progress(console) as progress:
        task = progress.add_task(description, total=len(prompts), info="")
        for lo in range(0, len(order), batch_size):
            index = order[lo : lo + batch_size]
            batch = tokenizer([prompts[i] for i in index], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)  # the template holds bos
            gen = model.generate(
                **batch, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                return_dict_in_generate=True, output_scores=scores,
                output_hidden_states=head is not None,
            )
            new = gen.sequences[:, batch["input_ids"].shape[1]:]
            p_no: list[float | None] = [None] * len(index)
            if head is not None:  # left padding: the prompt ends at the last position
                hidden = gen.hidden_states[0][-1][:, -1]
                p_no = torch.softmax(head.to(hidden.device)(hidden), dim=-1)[:, 0].tolist()
            logprobs = (model.compute_transition_scores(gen.sequences, gen.scores,
                                                        normalize_logits=True)
                        if scores else None)
            for row, i in enumerate(index):
                keep = [k for k, t in enumerate(new[row].tolist()) if t not in stop]
                text = tokenizer.decode(new[row][keep], skip_special_tokens=True).strip()
                probs = ([float(torch.exp(logprobs[row, k])) for k in keep]
                         if logprobs is not None else [])
                out[i] = Generation(text, probs, p_no[row], len(keep))
            progress.update(task, advance=len(index))
    return out


def generate_answers(
    predictor: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    system: str,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    *,
    scores: bool = False,
    description: str | None = None,
    console: Console | None = None,
) -> list[Generation]:
    """Answers of a causal-LM :class:`~tunesmith.inference.loading.Predictor` (with its
    multitask head's P(unanswerable) when it has one) to each (question, context)."""
    prompts = build_prompts(predictor.tokenizer, questions, contexts, system)
    return generate(predictor.model, predictor.tokenizer, prompts, max_new_tokens, batch_size,
                    scores=scores, head=predictor.head, console=console,
                    description=description or f"answering ({predictor.label})")
