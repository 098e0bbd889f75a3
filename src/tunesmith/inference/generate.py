"""The one batched generator: every causal-LM answer tunesmith produces comes from here.

Evaluation, calibration, the guard's signals, ``tunesmith answer``, ``compare`` and the bench
all call :func:`generate_answers` (prompts from ``models.chat.build_messages`` and the
tokenizer's chat template) or, with prompts already rendered, :func:`generate`:

- left padding (decoder-only models continue from the last position), the KV cache, greedy;
- prompts sorted by length and batched, so a batch pads little; answers come back in order;
- prompts that begin with the same tokens (several questions about one context: the system
  message and ``Context: ...`` alike) share their prefix's KV cache: the prefix runs once per
  batch and each prompt only its own suffix (``inference.prefix`` groups them from the token
  ids); ``shared_prefix=False`` runs every prompt whole;
- optionally the probability of each generated token (``output_scores``) and, with the
  multitask head, P(unanswerable) read from the last prompt token's final hidden state (the
  hidden states of generation's first step: no second forward pass);
- optionally ``p_no_answer``: the model's own probability of replying with the abstention text,
  P(abstain tokens | prompt) under teacher forcing (the first token's probability times each
  following token's conditional probability), from one extra batched forward pass of the
  abstention tokens over generation's own KV cache cut back to the prompt (the batch's left
  padding kept): about one decoding step more.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from rich.console import Console

from tunesmith.inference.prefix import PrefixGroup, Row, group_by_prefix, plan_batches
from tunesmith.models.chat import build_instruction_messages, build_messages
from tunesmith.utils.progress import make_progress


@dataclass(frozen=True)
class Generation:
    """One greedy answer; ``token_probs`` only when scores were asked for."""

    text: str
    token_probs: list[float] = field(default_factory=list)
    p_unanswerable: float | None = None  # the multitask head's, when the model has one
    tokens: int = 0  # generated tokens, eos and padding excluded
    p_no_answer: float | None = None  # P(the abstention text | prompt), when asked for
    seconds: float = 0.0  # wall time of its batch: the latency of a request served in it


def abstain_token_ids(tokenizer: Any, prompt: str, abstain_text: str) -> list[int]:
    """The abstention text's tokens as they follow ``prompt`` (a generation prompt) in a
    training sequence: the tokens of prompt + text after those of the prompt, where the prompt's
    tokens are a prefix of them (a tokenizer may merge across the boundary, or mark a word start
    after "assistant\\n"); else the text tokenized alone."""
    alone: list[int] = tokenizer(abstain_text, add_special_tokens=False)["input_ids"]
    head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    both = tokenizer(prompt + abstain_text, add_special_tokens=False)["input_ids"]
    if len(both) > len(head) and both[: len(head)] == head:
        return list(both[len(head):])
    return list(alone)


def _positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids under left padding, as ``generate`` computes them."""
    return (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)


def sequence_prob(model: Any, batch: Any, ids: Sequence[int], cache: Any = None,
                  cache_arg: str = "cache") -> list[float]:
    """P(``ids`` | each prompt of ``batch``) (left-padded, so every prompt ends at the last
    column), by teacher forcing in one forward pass: the product of each token's softmax
    probability given the prompt and the tokens before it.

    With ``cache``, generation's KV cache of the batch, the cache is cut back to the prompt less
    its last token and only that token and ``ids[:-1]`` are run (``len(ids)`` positions, about
    one decoding step); without, prompt + ``ids`` is run from scratch (about one prefill). The
    cache is consumed either way. ``cache_arg``: the forward's name for it (``cache`` in recent
    transformers, ``past_key_values`` before).
    """
    input_ids, mask = batch["input_ids"], batch["attention_mask"]
    rows, k = input_ids.shape[0], len(ids)
    follow = torch.tensor(list(ids), dtype=input_ids.dtype, device=input_ids.device)
    follow = follow.expand(rows, -1)
    full_mask = torch.cat([mask, torch.ones_like(follow[:, :-1])], dim=1)
    positions = _positions(full_mask)
    logits = None
    if cache is not None and hasattr(cache, "crop"):
        try:
            # negative: remove that many (the generated tokens and the prompt's last one)
            cache.crop(-(cache.get_seq_length() - (input_ids.shape[1] - 1)))
            run = torch.cat([input_ids[:, -1:], follow[:, :-1]], dim=1)
            logits = model(input_ids=run, attention_mask=full_mask,
                           position_ids=positions[:, -k:], use_cache=True,
                           **{cache_arg: cache}).logits
        except (ValueError, RuntimeError, TypeError, NotImplementedError):
            logits = None  # a cache that cannot roll back (sliding window, ...): from scratch
    if logits is None:
        run = torch.cat([input_ids, follow[:, :-1]], dim=1)
        logits = model(input_ids=run, attention_mask=full_mask, position_ids=positions,
                       use_cache=False).logits
    logits = logits[:, -k:].float()  # the logits that predict ids[0], ..., ids[-1]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, follow.unsqueeze(-1)).squeeze(-1)
    return [float(p) for p in torch.exp(logp.sum(dim=-1))]


def build_prompts(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str],
                  system: str) -> list[str]:
    """The generation prompt of each (question, context): the training format, exactly."""
    return [tokenizer.apply_chat_template(build_messages(c, q, system),
                                          add_generation_prompt=True, tokenize=False)
            for q, c in zip(questions, contexts, strict=True)]


def build_instruction_prompts(tokenizer: Any, instructions: Sequence[str]) -> list[str]:
    """The generation prompt of each general instruction, in the model's plain chat format
    (``models.chat.build_instruction_messages``): the forgetting probe's and replay's."""
    return [tokenizer.apply_chat_template(build_instruction_messages(p),
                                          add_generation_prompt=True, tokenize=False)
            for p in instructions]


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
    abstain_text: str | None = None,
    no_answer_threshold: float | None = None,
    description: str = "generating",
    console: Console | None = None,
    shared_prefix: bool = True,
) -> list[Generation]:
    """Greedy continuations of ``prompts`` (rendered already), in their order.

    With ``shared_prefix`` (the default), prompts that share a long prefix of tokens are
    answered from one computation of that prefix (see the module's docstring); the answers are
    those of running each prompt whole, up to floating-point rounding.

    With ``abstain_text`` and ``scores`` (or ``no_answer_threshold``), each
    :class:`Generation` also has ``p_no_answer``.
    With ``no_answer_threshold`` (and ``abstain_text``) the model abstains only when its
    probability of the whole abstention reply reaches the threshold: greedy decoding picks the
    abstention's first token whenever that token is the single likeliest, even when answering
    is likelier in total, so a greedy abstention below the threshold is generated again with
    that first token suppressed (``begin_suppress_tokens``).
    """
    tokenizer.padding_side = "left"
    model.eval()
    device = next(model.parameters()).device
    # p_no_answer for the caller (with scores) or for the threshold's decision; the per-token
    # probabilities only when asked for. The generation prompt ends the same way for every
    # prompt: one tokenization serves all
    want_p = scores or no_answer_threshold is not None
    no_answer = (abstain_token_ids(tokenizer, prompts[0], abstain_text)
                 if want_p and abstain_text and prompts else [])
    out: list[Generation] = [Generation("")] * len(prompts)
    with make_progress(console) as progress:
        task = progress.add_task(description, total=len(prompts), info="")
        _generate_into(out, range(len(prompts)), model, tokenizer, prompts, device,
                       max_new_tokens, batch_size, scores, head, no_answer, [],
                       lambda n: progress.update(task, advance=n), shared_prefix=shared_prefix)
        if no_answer_threshold is not None and no_answer and abstain_text:
            again = [i for i, g in enumerate(out) if g.text.startswith(abstain_text.strip())
                     and g.p_no_answer is not None and g.p_no_answer < no_answer_threshold]
            if again:
                first = [(i, out[i].p_no_answer, out[i].seconds) for i in again]
                progress.update(task, total=len(prompts) + len(again),
                                info=f"{len(again)} answered instead of abstaining")
                _generate_into(out, again, model, tokenizer, prompts, device, max_new_tokens,
                               batch_size, scores, head, [], [no_answer[0]],
                               lambda n: progress.update(task, advance=n),
                               shared_prefix=shared_prefix)
                for i, p, s in first:  # the decision's evidence is the first pass's probability
                    out[i] = replace(out[i], p_no_answer=p, seconds=out[i].seconds + s)
    return out


def _generate_into(out: list[Generation], indices: Sequence[int], model: Any, tokenizer: Any,
                   prompts: Sequence[str], device: Any, max_new_tokens: int, batch_size: int,
                   scores: bool, head: Any, no_answer: Sequence[int],
                   suppress_first: Sequence[int], advance: Any, *,
                   shared_prefix: bool = True) -> None:
    """Greedy generation for ``prompts[i]``, ``i`` in ``indices``, batched by shared prefix and
    length; each result is written to ``out[i]``."""
    indices = list(indices)
    # the template holds bos; one tokenization of the full prompts serves the grouping (a
    # prefix is a run of the full prompt's own ids) and every batch
    tokens = dict(zip(indices, tokenizer([prompts[i] for i in indices],
                                         add_special_tokens=False)["input_ids"], strict=True))
    ids = [list(tokens[i]) for i in indices]
    groups = (group_by_prefix(ids) if shared_prefix and _can_share(model)
              else [PrefixGroup(0, (k,)) for k in range(len(ids))])
    batches = [[Row(indices[r.index], r.prefix, r.group) for r in batch]
               for batch in plan_batches(groups, [len(t) for t in ids], batch_size)]
    stop = {tokenizer.pad_token_id, tokenizer.eos_token_id}
    extra: dict[str, Any] = {"begin_suppress_tokens": list(suppress_first)} if suppress_first \
        else {}
    for rows in batches:
        index = [r.index for r in rows]
        started = time.perf_counter()
        batch, width = _layout(rows, tokens, tokenizer.pad_token_id, device)
        cache = _prefix_cache(model, batch, rows, width) if width else {}
        gen = model.generate(
            **batch, **cache, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            return_dict_in_generate=True, output_scores=scores,
            output_hidden_states=head is not None, **extra,
        )
        new = gen.sequences[:, batch["input_ids"].shape[1]:]
        p_head: list[float | None] = [None] * len(index)
        if head is not None:  # every prompt ends at the last position (of the first step's)
            hidden = gen.hidden_states[0][-1][:, -1]
            p_head = torch.softmax(head.to(hidden.device)(hidden), dim=-1)[:, 0].tolist()
        logprobs = (model.compute_transition_scores(gen.sequences, gen.scores,
                                                    normalize_logits=True)
                    if scores else None)
        p_abstain: list[float | None] = [None] * len(index)
        if no_answer:  # last: it consumes generation's cache
            arg = "cache" if hasattr(gen, "cache") else "past_key_values"
            p_abstain = [*sequence_prob(model, batch, no_answer, getattr(gen, arg, None), arg)]
        seconds = time.perf_counter() - started  # decoding the text below is negligible
        for row, i in enumerate(index):
            keep = [k for k, t in enumerate(new[row].tolist()) if t not in stop]
            text = tokenizer.decode(new[row][keep], skip_special_tokens=True).strip()
            probs = ([float(torch.exp(logprobs[row, k])) for k in keep]
                     if logprobs is not None else [])
            out[i] = Generation(text, probs, p_head[row], len(keep), p_no_answer=p_abstain[row],
                                seconds=seconds)
        advance(len(index))


def _can_share(model: Any) -> bool:
    """Whether a prefix's cache can stand in for the prompt's start: not where a prompt-learning
    adapter puts virtual tokens before every input (the cache would lack them)."""
    config = getattr(model, "active_peft_config", None)
    return not getattr(config, "is_prompt_learning", False)


def _layout(rows: Sequence[Row], tokens: dict[int, list[int]], pad: int,
            device: Any) -> tuple[dict[str, torch.Tensor], int]:
    """The batch's ``input_ids`` and ``attention_mask``: each row its prefix left-padded to the
    batch's longest prefix, then its suffix left-padded to the longest suffix, so every prompt
    ends at the last column (the padding between the two is masked; ``generate`` numbers the
    positions from the mask, so each prompt sees the positions it has alone). Without shared
    prefixes this is plain left padding. Also the prefix width."""
    width = max(r.prefix for r in rows)
    tail = max(len(tokens[r.index]) - r.prefix for r in rows)
    input_ids = torch.full((len(rows), width + tail), pad, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    for k, r in enumerate(rows):
        ids = tokens[r.index]
        prefix, suffix = ids[: r.prefix], ids[r.prefix:]
        input_ids[k, width - len(prefix) : width] = torch.tensor(prefix, dtype=torch.long)
        mask[k, width - len(prefix) : width] = 1
        input_ids[k, width + tail - len(suffix):] = torch.tensor(suffix, dtype=torch.long)
        mask[k, width + tail - len(suffix):] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}, width


def _prefix_cache(model: Any, batch: dict[str, torch.Tensor], rows: Sequence[Row],
                  width: int) -> dict[str, Any]:
    """The KV cache of the batch's first ``width`` columns, each distinct prefix run once and
    its cache copied to the rows that share it; as the keyword ``generate`` takes it (empty
    where the model's cache cannot be copied by row: ``generate`` then runs the whole
    layout)."""
    first: dict[int, int] = {}  # group -> its first row
    for k, r in enumerate(rows):
        first.setdefault(r.group, k)
    pick = list(first.values())
    ids, mask = batch["input_ids"][pick, :width], batch["attention_mask"][pick, :width]
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    # only the cache is wanted: skip the vocabulary projection of every prefix position
    keep = ({"logits_to_keep": 1}
            if "logits_to_keep" in inspect.signature(inner.forward).parameters else {})
    output = model(input_ids=ids, attention_mask=mask, position_ids=_positions(mask),
                   use_cache=True, **keep)
    arg = "cache" if getattr(output, "cache", None) is not None else "past_key_values"
    cache = getattr(output, arg, None)
    if (cache is None or not hasattr(cache, "batch_select_indices")
            or any(getattr(cache, "is_linear", ()))):  # a recurrent state would see the pads
        return {}
    order = list(first)
    cache.batch_select_indices(torch.tensor([order.index(r.group) for r in rows],
                                            device=ids.device))
    return {arg: cache}


def generate_answers(
    predictor: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    system: str,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    *,
    scores: bool = False,
    abstain_text: str | None = None,
    no_answer_threshold: float | None = None,
    description: str | None = None,
    console: Console | None = None,
) -> list[Generation]:
    """Answers of a causal-LM :class:`~tunesmith.inference.loading.Predictor` (with its
    multitask head's P(unanswerable) when it has one, and with ``scores`` and ``abstain_text``
    the model's probability of replying ``abstain_text``) to each (question, context)."""
    prompts = build_prompts(predictor.tokenizer, questions, contexts, system)
    return generate(predictor.model, predictor.tokenizer, prompts, max_new_tokens, batch_size,
                    scores=scores, head=predictor.head, abstain_text=abstain_text,
                    no_answer_threshold=no_answer_threshold, console=console,
                    description=description or f"answering ({predictor.label})")
