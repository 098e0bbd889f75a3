"""The OpenAI chat-completions wire format, as far as a guarded answer needs it.

Requests are validated strictly: an unknown top-level key is a 400 that names it (the
``tunesmith.yaml`` rule), as OpenAI's API does. Sampling options (``temperature``, ``top_p``,
penalties, ``seed``) are accepted for client compatibility and ignored: the guard's probabilities
and thresholds are those of greedy decoding, so answers are always greedy. What cannot be honoured
(``n`` > 1, ``stop``, ``logprobs``, tools) is refused with a 400 rather than silently dropped.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROLES = ("system", "developer", "user", "assistant", "tool")


class RequestError(ValueError):
    """A request the server refuses; ``status`` and ``param`` go into the JSON error body."""

    def __init__(self, message: str, status: int = 400, param: str | None = None,
                 kind: str = "invalid_request_error", code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.kind, self.code = status, param, kind, code

    def body(self) -> dict[str, Any]:
        return error_body(str(self), self.kind, self.param, self.code)


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_call_id, ...: nothing to do with them

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; ``context`` is tunesmith's own field (``extra_body``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    context: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1)
    stop: str | list[str] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    # accepted and ignored: answers are greedy (see the module docstring)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only n=1 is supported: the guard gives one answer")
        return value

    @field_validator("stop")
    @classmethod
    def _no_stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value:  # None, "" and [] are what clients send when they mean "none"
            raise ValueError("stop sequences are not supported: the guard judges the whole "
                             "answer")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("logprobs are not returned; the guard's confidence_score and "
                             "gates are in the 'tunesmith' object")
        return value

    def requested_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def question_and_context(self) -> tuple[str, str]:
        """The last user message is the question; ``context`` if given, else the system (or
        developer) messages joined, is the context."""
        last = self.messages[-1]
        if last.role != "user":
            raise RequestError(f"the last message must be the user's question, not "
                               f"{last.role!r}", param=f"messages[{len(self.messages) - 1}]")
        question = last.text().strip()
        if not question:
            raise RequestError("the question (the last user message) is empty",
                               param=f"messages[{len(self.messages) - 1}].content")
        if self.context is not None:
            context = self.context.strip()
        else:
            context = "\n\n".join(m.text().strip() for m in self.messages
                                  if m.role in ("system", "developer") and m.text().strip())
        if not context:
            raise RequestError("no context: give it as a system message or as the 'context' "
                               "field", param="context")
        return question, context


def parse_request(payload: Any) -> ChatRequest:
    """The validated request; any problem is a :class:`RequestError` naming the field."""
    if not isinstance(payload, dict):
        raise RequestError("the body must be a JSON object")
    try:
        return ChatRequest.model_validate(payload)
    except ValidationError as exc:
        raise RequestError(*_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> tuple[str, int, str]:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    # pydantic names the union member it tried (messages.0.content.str); keep the field path
    path = re.sub(r"\.(\d+)", r"[\1]", ".".join(p for p in loc if p not in ("str", "list[TextPart]")
                                                 and not p.startswith("function-")))
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], ChatRequest.model_fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown field {path!r}{hint}", 400, path
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}", 400, path


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(completion_id: str, created: int, model: str, content: str, finish_reason: str,
               usage_: dict[str, int], guard: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` object with the guard's fields in ``tunesmith``."""
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage_,
        "tunesmith": guard,
    }


def chunk(completion_id: str, created: int, model: str, delta: dict[str, Any],
          finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    return {
        "id": completion_id, "object": "chat.completion.chunk", "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                     "logprobs": None}],
        **extra,
    }


_PIECE = re.compile(r"\s*\S+\s*|\s+")


def pieces(text: str) -> list[str]:
    """The answer cut into word pieces for a stream; joined, they give ``text`` back."""
    return _PIECE.findall(text) or [""]
