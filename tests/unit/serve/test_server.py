"""The real server on loopback, through the official ``openai`` client and plain HTTP."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import httpx
import openai
import pytest

from tunesmith.guard import validate_output
from tunesmith.guard.gates import question_words
from tunesmith.serve import GuardService

Serve = Callable[..., AbstractContextManager[str]]
HTTP = httpx.Client(timeout=60)  # a shared 2-core machine can be slow

QUESTION = "Which port does the broker listen on?"
CONTEXT = ("The broker listens on port 7420 by default. Version 2.1 was released in March "
           "2021. The retention period is seven days.")


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def ask(url: str, question: str = QUESTION, context: str = CONTEXT, **kwargs: Any) -> Any:
    return client(url).chat.completions.create(
        model="srv", messages=[{"role": "system", "content": context},
                               {"role": "user", "content": question}], **kwargs)


def test_answer_is_the_guards_with_its_fields(base_url: str, service: GuardService) -> None:
    reply = ask(base_url)
    guard = reply.model_extra["tunesmith"]
    validate_output(guard)  # the published schema of `tunesmith answer`
    assert guard == service.guard.answer(QUESTION, CONTEXT).to_json()  # the library's answer
    assert reply.choices[0].message.content == guard["answer"]
    assert reply.model == "srv" and reply.object == "chat.completion"
    assert {"confidence_score", "rejection_flag"} <= set(guard)
    assert [g["gate"] for g in guard["gates"]] == service.guard.gates
    assert all({"value", "threshold", "fired"} <= set(g) for g in guard["gates"])
    assert reply.usage is not None and reply.usage.prompt_tokens > 20
    assert reply.choices[0].finish_reason in ("stop", "length")


def test_stream_sends_the_same_answer_and_the_guard_last(base_url: str) -> None:
    whole = ask(base_url)
    chunks = list(ask(base_url, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == whole.choices[0].finish_reason
    assert last.model_extra["tunesmith"] == whole.model_extra["tunesmith"]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_context_field_wins_over_system_messages(base_url: str) -> None:
    by_field = client(base_url).chat.completions.create(
        model="srv", messages=[{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": QUESTION}],
        extra_body={"context": CONTEXT})
    assert by_field.model_extra["tunesmith"] == ask(base_url).model_extra["tunesmith"]


def test_a_context_without_enough_text_is_rejected(base_url: str, service: GuardService) -> None:
    reply = ask(base_url, context="Ports.")
    guard = reply.model_extra["tunesmith"]
    assert guard["rejection_flag"] is True and "context_length" in guard["gates_fired"]
    assert reply.choices[0].message.content == service.config.guard.abstain_text


def test_models_and_health(base_url: str) -> None:
    assert [m.id for m in client(base_url).models.list()] == ["srv"]
    health = HTTP.get(f"{base_url}/health").json()
    assert health["status"] == "ok" and health["model"] == "srv"
    assert health["gates"] == ["context_length", "confidence", "no_answer_prob"]
    assert health["thresholds"]["confidence"] == 0.75  # the seed's default, not calibrated


BAD = [  # (body, status, words the message must contain)
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "empty"),
    (b"[1, 2]", 400, "JSON object"),
    ({"model": "srv"}, 400, "messages"),
    ({"model": "srv", "messages": []}, 400, "messages"),
    ({"model": "srv", "messages": "hi"}, 400, "messages"),
    ({"model": "srv", "messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
    ({"model": "srv", "messages": [{"role": "user", "content": 5}]}, 400, "content"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}]}, 400, "no context"),
    ({"model": "srv", "messages": [{"role": "system", "content": "c"},
                                   {"role": "assistant", "content": "a"}]}, 400, "last message"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}], "context": "c",
      "max_tokns": 5}, 400, "did you mean 'max_tokens'"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}], "context": "c",
      "max_tokens": 100000}, 400, "serve.max_tokens"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}], "context": "c",
      "max_tokens": -3}, 400, "max_tokens"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}], "context": "c",
      "n": 2}, 400, "n=1"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}], "context": "c",
      "stop": ["\n"]}, 400, "stop"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "q?"}], "context": "c"},
     404, "not served here"),
    ({"model": "srv", "messages": [{"role": "user", "content": "q?"}],
      "context": "word " * 400}, 400, "window"),  # the tiny model's 256 positions
]


@pytest.mark.parametrize(("body", "status", "words"), BAD)
def test_malformed_requests_get_a_4xx_json_error(base_url: str, body: Any, status: int,
                                                  words: str) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = HTTP.post(f"{base_url}/v1/chat/completions", content=data,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"] and error["type"]


def test_size_route_and_method_errors_are_json(base_url: str, service: GuardService) -> None:
    limit = service.config.serve.max_request_bytes
    big = HTTP.post(f"{base_url}/v1/chat/completions", content=b"x" * (limit + 1))
    assert big.status_code == 413 and "serve.max_request_bytes" in big.json()["error"]["message"]
    assert HTTP.get(f"{base_url}/v1/chat/completions").status_code == 405
    missing = HTTP.get(f"{base_url}/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_the_openai_client_raises_its_own_errors(base_url: str) -> None:
    with pytest.raises(openai.NotFoundError):
        client(base_url).chat.completions.create(
            model="other", messages=[{"role": "user", "content": "q?"}],
            extra_body={"context": CONTEXT})
    with pytest.raises(openai.BadRequestError, match="no context"):
        client(base_url).chat.completions.create(
            model="srv", messages=[{"role": "user", "content": "q?"}])


def test_api_key_from_bearer(service: GuardService, serve: Serve) -> None:
    with serve(service, api_key="s3cret") as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong").models.list()
        assert HTTP.get(f"{url}/v1/models").status_code == 401
        assert HTTP.get(f"{url}/health").status_code == 200  # for load balancers
        reply = client(url, "s3cret").chat.completions.create(
            model="srv", messages=[{"role": "user", "content": QUESTION}],
            extra_body={"context": CONTEXT})
        assert "tunesmith" in reply.model_extra


def test_concurrent_requests_share_generate_calls(service: GuardService, serve: Serve) -> None:
    with serve(service) as url:
        contexts = [CONTEXT[: 40 + 9 * i] for i in range(8)]  # all distinct
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda c: ask(url, context=c), contexts))
        stats = HTTP.get(f"{url}/health").json()
    assert stats["requests"] == 8 and stats["batches"] < 8 and stats["largest_batch"] >= 2
    for context, reply in zip(contexts, replies, strict=True):  # each got its own answer back
        gate = next(g for g in reply.model_extra["tunesmith"]["gates"]
                    if g["gate"] == "context_length")
        assert gate["value"] == round(len(context) / question_words(QUESTION), 6)


def test_a_full_queue_answers_503(service: GuardService, serve: Serve) -> None:
    held, entered = threading.Event(), threading.Event()
    busy = copy.copy(service)
    busy.config = service.config.model_copy(deep=True)
    busy.config.serve.queue_size = 1
    busy.config.serve.max_batch_size = 1

    def slow(questions: list[str], contexts: list[str], max_new_tokens: int) -> Any:
        entered.set()
        held.wait(60)
        return service.answer(questions, contexts, max_new_tokens)

    busy.answer = slow  # type: ignore[method-assign]
    with serve(busy) as url, ThreadPoolExecutor(2) as pool:
        first = pool.submit(ask, url)  # taken by the model thread, held there
        # one at a time: sent together, either could be the one the model thread takes
        assert entered.wait(120), "the first request never reached the model"
        second = pool.submit(ask, url)  # waits in the queue (size 1)
        deadline = time.monotonic() + 120  # a loaded machine is slow to send it
        while HTTP.get(f"{url}/health").json()["queue"]["waiting"] < 1:
            if second.done():
                second.result()  # a client-side failure, raised with its own message
            assert time.monotonic() < deadline, "the second request never queued"
            time.sleep(0.05)
        third = HTTP.post(f"{url}/v1/chat/completions", json={
            "model": "srv", "messages": [{"role": "user", "content": QUESTION}],
            "context": CONTEXT})
        held.set()
        assert third.status_code == 503 and third.headers["Retry-After"] == "1"
        assert third.json()["error"]["type"] == "server_overloaded"
        assert first.result().model_extra["tunesmith"] and second.result().choices

