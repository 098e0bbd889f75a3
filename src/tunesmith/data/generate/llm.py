"""``llm``: Q&A pairs from any OpenAI-compatible chat completions endpoint.

Works with OpenAI, vLLM, llama.cpp's server, Ollama, LM Studio and anything else that speaks
``POST {base_url}/chat/completions``. The key is read from the environment variable the
config names (never from the config file). Requests run ``concurrency`` at a time; a failed
request (connection error, HTTP 429 or 5xx) is retried with exponential backoff and jitter,
honouring ``Retry-After``; a reply that is not the JSON asked for is retried too, and after
``retries`` attempts the context is skipped with the reason (in ``rejected.jsonl``). Every
valid reply is cached on disk under a hash of the full request (URL, model, messages,
sampling settings), so a re-run of the build makes no request at all.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate.base import GENERATORS
from tunesmith.data.generate.prompting import (
    SYSTEM,
    InvalidReply,
    pairs_to_records,
    parse_pairs,
    qa_prompt,
    skipped_context,
)
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.errors import TunesmithError
from tunesmith.utils.hashing import sha256_json
from tunesmith.utils.io import write_json_atomic

if TYPE_CHECKING:
    from tunesmith.config.data_gen import LLMGenerateConfig

T = TypeVar("T")
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Failure:
    """A request that gave no usable reply after every retry."""

    reason: str


class ChatClient:
    """A small OpenAI chat completions client: retries, backoff, a disk cache, a thread pool."""

    def __init__(self, config: LLMGenerateConfig, cache_dir: Path | None = None) -> None:
        self.config = config
        folder = config.cache_dir or (str(cache_dir / "llm") if cache_dir else None)
        self.cache_dir = Path(folder) if folder else None
        self.requests = 0  # HTTP requests actually sent (a fully cached run sends none)
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    # -- the request ---------------------------------------------------------------------
    def _payload(self, prompt: str) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": prompt}],
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }

    def _headers(self) -> dict[str, str]:
        env = self.config.api_key_env
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise TunesmithError(
                f"data.generate.llm.api_key_env names {env!r}, but that environment variable "
                "is not set; export it, or set api_key_env: null for a server without keys"
            )
        return {"Authorization": f"Bearer {key}"}

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(timeout=self.config.timeout_s,
                                          headers=self._headers())
            return self._http

    def _cache_path(self, payload: dict[str, Any]) -> Path | None:
        if self.cache_dir is None:
            return None
        key = sha256_json({"url": self.config.base_url, **payload})
        return self.cache_dir / key[:2] / f"{key}.json"

    def _post(self, payload: dict[str, Any]) -> str:
        """One reply's text; raises on a non-retryable HTTP status, returns after retries."""
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        response = self._client().post(url, json=payload)
        with self._lock:
            self.requests += 1
        if response.status_code in _RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code >= 400:
            raise TunesmithError(
                f"{url} answered HTTP {response.status_code}: {response.text[:200]} "
                "(check data.generate.llm.base_url, model and the API key)"
            )
        try:
            return str(response.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _Retryable(f"not a chat completion response ({exc})", None) from None

    def complete(self, prompt: str, validate: Callable[[str], T]) -> T | Failure:
        """The validated reply to ``prompt``: from the cache, or asked with retries."""
        payload = self._payload(prompt)
        path = self._cache_path(payload)
        if path is not None and path.is_file():
            try:
                return validate(json.loads(path.read_text("utf-8"))["content"])
            except (InvalidReply, ValueError, KeyError):
                pass  # a stale or damaged entry is asked again
        reason = "no attempt"
        for attempt in range(self.config.retries + 1):
            wait: float | None = None
            try:
                content = self._post(payload)
                value = validate(content)
            except _Retryable as exc:
                reason, wait = exc.reason, exc.retry_after
            except InvalidReply as exc:
                reason = f"invalid reply: {exc}"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if path is not None:
                    write_json_atomic(path, {"request": payload, "content": content})
                return value
            if attempt < self.config.retries:
                base = self.config.backoff_s * 2**attempt
                time.sleep(wait if wait is not None else base * (1 + 0.25 * random.random()))
        return Failure(f"{reason} (after {self.config.retries + 1} attempts)")

    def complete_many(
        self, prompts: Sequence[str], validate: Callable[[str], T],
        on_done: Callable[[int], None] | None = None,
    ) -> list[T | Failure]:
        """Replies in the order of ``prompts``, ``concurrency`` requests in flight at once."""

        def one(prompt: str) -> T | Failure:
            result = self.complete(prompt, validate)
            if on_done:
                on_done(1)
            return result

        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            return list(pool.map(one, prompts))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


@GENERATORS.register("llm")
class LLMGenerator:
    """The seed's prompt to an OpenAI-compatible endpoint; answers verified as spans."""

    def __init__(
        self, config: GenerateConfig | None = None, *, cache_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or GenerateConfig(generator="llm")
        self.client = ChatClient(self.config.llm, cache_dir)
        self.rejected: list[Rejection] = []
        del seed

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]:
        return self.generate_batch([context], limit)[0]

    def generate_batch(
        self, contexts: Sequence[Context], limit: int, on_done: Callable[[int], None] | None = None
    ) -> list[list[QARecord]]:
        m = self.config.llm.unanswerable_per_context
        prompts = [qa_prompt(c.text, limit + m, m) for c in contexts]
        replies = self.client.complete_many(prompts, parse_pairs, on_done)
        out: list[list[QARecord]] = []
        for context, reply in zip(contexts, replies, strict=True):
            if isinstance(reply, Failure):
                self.rejected.append(skipped_context(context, "llm", reply.reason))
                out.append([])
                continue
            records, rejected = pairs_to_records(context, reply, "llm", limit,
                                                 model=self.config.llm.model)
            self.rejected += rejected
            out.append(records)
        return out
