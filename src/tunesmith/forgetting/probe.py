"""The forgetting probe: how much general ability a model kept, measured three ways.

- **general-text perplexity** on the shipped prose (``data/prose_probe.txt``): the exponent of
  the mean next-token negative log-likelihood over every passage token after the first;
- **verifiable instruction following** (IFEval-style, Zhou et al., 2023): the share of the
  shipped instructions whose reply passes its checker (``forgetting.checkers``);
- **closed-book QA**: the share of the shipped questions whose reply contains an accepted answer
  (lower case, punctuation dropped, as whole words).

Instructions and questions are asked in the model's plain chat format
(``inference.build_instruction_prompts``) and answered greedily by the one generator, so base
and tuned differ only in their weights. The seed's section "What is catastrophic forgetting in
LLMs?" names the effect; :func:`compare_probes` puts a number on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from rich.console import Console

from tunesmith.config.forgetting import ForgettingProbeConfig
from tunesmith.forgetting.checkers import check
from tunesmith.forgetting.sets import ProbeSets, Question
from tunesmith.inference import build_instruction_prompts, generate
from tunesmith.utils.progress import make_progress

PROBES = ("perplexity", "instruction_following", "closed_book_qa")


@dataclass
class ProbeResult:
    """One model's probe: the three scores and every reply behind two of them."""

    label: str
    perplexity: float
    text_tokens: int
    instruction_following: float  # % of instructions whose reply passes its check
    closed_book_qa: float  # % of questions answered right
    by_checker: dict[str, list[int]] = field(default_factory=dict)  # checker: [passed, total]
    items: list[dict[str, Any]] = field(default_factory=list)

    def scores(self) -> dict[str, float]:
        return {"perplexity": self.perplexity,
                "instruction_following": self.instruction_following,
                "closed_book_qa": self.closed_book_qa}


@torch.inference_mode()
def perplexity(model: Any, tokenizer: Any, passages: Sequence[str], batch_size: int = 8,
               max_length: int = 512, console: Console | None = None) -> tuple[float, int]:
    """(perplexity, tokens scored) of ``model`` on ``passages``, each scored on its own.

    Every token after a passage's first is predicted from the ones before it; the perplexity is
    exp(total negative log-likelihood / tokens scored), so long passages weigh more.
    """
    model.eval()
    device = next(model.parameters()).device
    tokenizer.padding_side = "right"
    total, count = 0.0, 0
    with make_progress(console) as progress:
        task = progress.add_task("perplexity on general text", total=len(passages), info="")
        for lo in range(0, len(passages), batch_size):
            chunk = list(passages[lo:lo + batch_size])
            batch = tokenizer(chunk, return_tensors="pt", padding=True, truncation=True,
                              max_length=max_length).to(device)
            logits = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).logits.float()
            targets = batch["input_ids"][:, 1:]
            mask = batch["attention_mask"][:, 1:].bool()
            nll = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1),
                reduction="none").view_as(targets)
            total += float(nll[mask].sum())
            count += int(mask.sum())
            progress.update(task, advance=len(chunk))
    return (math.exp(total / count) if count else float("nan")), count


_PUNCT = re.compile(r"[^\w\s]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")


def _normal(text: str) -> str:
    """Lower case; "1,000" → "1000"; any other punctuation separates words ("0°C" → "0 c")."""
    return " ".join(_PUNCT.sub(" ", _THOUSANDS.sub("", text.lower())).split())


def answers_correctly(reply: str, question: Question) -> bool:
    """Whether an accepted answer appears in ``reply`` as whole words (case and punctuation
    ignored: "1,000" matches "1000", "Forty-two" matches "forty two", "0°C" matches "0")."""
    padded = f" {_normal(reply)} "
    return any(f" {_normal(a)} " in padded for a in question.answers if _normal(a))


def probe_model(model: Any, tokenizer: Any, sets: ProbeSets, config: ForgettingProbeConfig,
                label: str, console: Console | None = None) -> ProbeResult:
    """Run the three probes on one loaded causal LM."""
    sets = sets.limited(config.max_items)
    ppl, tokens = perplexity(model, tokenizer, sets.passages, console=console)
    prompts = build_instruction_prompts(tokenizer, [i.prompt for i in sets.instructions])
    replies = generate(model, tokenizer, prompts, config.max_new_tokens, config.batch_size,
                       description=f"instructions ({label})", console=console)
    items: list[dict[str, Any]] = []
    by_checker: dict[str, list[int]] = {}
    for ins, reply in zip(sets.instructions, replies, strict=True):
        passed = check(ins.checker, reply.text, ins.args)
        counts = by_checker.setdefault(ins.checker, [0, 0])
        counts[0] += int(passed)
        counts[1] += 1
        items.append({"probe": "instruction_following", "id": ins.id, "prompt": ins.prompt,
                      "checker": ins.checker, "reply": reply.text, "passed": passed})
    prompts = build_instruction_prompts(tokenizer, [q.question for q in sets.questions])
    replies = generate(model, tokenizer, prompts, config.qa_max_new_tokens, config.batch_size,
                       description=f"closed-book questions ({label})", console=console)
    right = 0
    for question, reply in zip(sets.questions, replies, strict=True):
        passed = answers_correctly(reply.text, question)
        right += int(passed)
        items.append({"probe": "closed_book_qa", "id": question.id, "prompt": question.question,
                      "answers": list(question.answers), "reply": reply.text, "passed": passed})
    n_ins, n_q = len(sets.instructions), len(sets.questions)
    passed_ins = sum(c[0] for c in by_checker.values())
    return ProbeResult(label, ppl, tokens, 100.0 * passed_ins / n_ins if n_ins else float("nan"),
                       100.0 * right / n_q if n_q else float("nan"), by_checker, items)


def general_loss(base: dict[str, float], tuned: dict[str, float]) -> float:
    """One number for what the tuned model lost (positive) or gained (negative), in points:
    the mean of the instruction-following drop (percentage points), the closed-book QA drop
    (percentage points) and the perplexity rise (% of the base's)."""
    drops = [base["instruction_following"] - tuned["instruction_following"],
             base["closed_book_qa"] - tuned["closed_book_qa"],
             100.0 * (tuned["perplexity"] / base["perplexity"] - 1.0)]
    return sum(drops) / len(drops)


def compare_probes(base: ProbeResult, tuned: ProbeResult) -> dict[str, float]:
    """Tuned minus base for each probe (the perplexity also as a %), and the general loss."""
    b, t = base.scores(), tuned.scores()
    change = {k: t[k] - b[k] for k in PROBES}
    change["perplexity_percent"] = 100.0 * (t["perplexity"] / b["perplexity"] - 1.0)
    change["general_loss"] = general_loss(b, t)
    return change


def merged_items(results: Sequence[ProbeResult]) -> list[dict[str, Any]]:
    """One row per instruction or question, with each model's reply and verdict beside it."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for result in results:
        for item in result.items:
            key = (item["probe"], item["id"])
            row = rows.setdefault(key, {k: v for k, v in item.items()
                                        if k not in ("reply", "passed")})
            row[result.label] = {"reply": item["reply"], "passed": item["passed"]}
    return list(rows.values())
