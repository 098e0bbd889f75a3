"""What the server asks of the library: the run's :class:`~tunesmith.guard.Guard`, plus the
token counts a request needs checked before it waits in the queue.

The guard is the one ``tunesmith answer`` uses (the tuned model, its gates and calibrated
thresholds, the training prompt format); the server adds no decision of its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.guard import GATES, Guard, GuardedAnswer
from tunesmith.inference import build_prompts
from tunesmith.serve.schemas import RequestError


@dataclass(frozen=True)
class Counted:
    """A request's prompt length and how many new tokens it may have."""

    prompt_tokens: int
    max_tokens: int


class GuardService:
    """The guarded answer path behind the server (one model, loaded once)."""

    def __init__(self, guard: Guard, model_id: str | None = None):
        self.guard = guard
        self.config: RunConfig = guard.config
        self.model_id = model_id or guard.config.serve.model_id or guard.config.name
        predictor = guard.predictor
        self.kind = predictor.kind
        # generation mutates its tokenizer (padding side, padding): requests are counted with
        # a copy of their own, on the event loop's thread, while the model thread generates
        self._counter = copy.deepcopy(predictor.tokenizer)
        self.context_window = _context_window(predictor.model) if self.kind == "causal_lm" \
            else None
        self._quiet = Console(quiet=True)  # no progress bars per request

    @classmethod
    def from_config(cls, config: RunConfig, label: str = "tuned") -> GuardService:
        return cls(Guard(config, label=label))

    def count(self, question: str, context: str, requested: int | None) -> Counted:
        """The prompt's tokens and the new tokens allowed; a request over a limit is a
        :class:`RequestError` saying which."""
        limit = self.config.serve.max_tokens
        if requested is not None and requested > limit:
            raise RequestError(f"max_tokens {requested} is above this server's limit of "
                               f"{limit} (serve.max_tokens)", param="max_tokens")
        max_tokens = requested or min(self.config.eval.max_new_tokens, limit)
        if self.kind != "causal_lm":  # an encoder reads question + context in windows
            return Counted(self.tokens(question) + self.tokens(context), max_tokens)
        prompt = build_prompts(self._counter, [question], [context],
                               self.config.guard.system_message())[0]
        tokens = len(self._counter(prompt, add_special_tokens=False)["input_ids"])
        if self.context_window is not None and tokens + max_tokens > self.context_window:
            raise RequestError(
                f"the prompt has {tokens} tokens and max_tokens is {max_tokens}: more than the "
                f"model's {self.context_window}-token window; shorten the context",
                param="messages", code="context_length_exceeded")
        return Counted(tokens, max_tokens)

    def tokens(self, text: str | None) -> int:
        return len(self._counter(text or "", add_special_tokens=False)["input_ids"])

    def answer(self, questions: list[str], contexts: list[str],
               max_new_tokens: int) -> list[GuardedAnswer]:
        """Guarded answers for one batch (called on the model's thread)."""
        return self.guard.answer_many(questions, contexts, self._quiet, max_new_tokens)

    def describe(self) -> dict[str, Any]:
        """What /health says about the model and its guard."""
        return {"model": self.model_id, "task": self.config.model.task,
                "label": self.guard.label, "gates": list(self.guard.gates),
                "thresholds": {g: self.guard.thresholds.get(g, GATES.get(g).default)
                               for g in self.guard.gates},
                "context_window": self.context_window}


def _context_window(model: Any) -> int | None:
    config = getattr(model, "config", None)
    value = getattr(config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) else None
