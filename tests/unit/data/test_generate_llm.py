"""The ``llm`` generator against a real HTTP server on loopback speaking the OpenAI chat API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tunesmith.config.data_gen import GenerateConfig, LLMGenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate import generate_questions, make_generator
from tunesmith.data.generate.llm import ChatClient, Failure, LLMGenerator
from tunesmith.data.generate.prompting import parse_pairs
from tunesmith.errors import TunesmithError

CONTEXT = Context("doc#0", "doc", 0, "The broker listens on port 7420. Version 3.2 was released "
                  "in March 2024.")
GOOD = {"pairs": [
    {"question": "Which port does the broker listen on?", "answer": "7420"},
    {"question": "When was version 3.2 released?", "answer": "March 2024"},
    {"question": "Who wrote the broker?", "answer": None},
    {"question": "What is the default timeout?", "answer": "30 seconds"},  # not in the context
]}


class ChatServer:
    """An OpenAI-compatible chat completions server; replies come from a script.

    Each scripted reply is (status, content): a 200 carries ``content`` as the assistant
    message; other statuses are sent as errors. When the script runs out the last entry
    repeats. Every request body is kept.
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0  # seconds each request takes
        self.active = self.max_active = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    status, content = (server.script.pop(0) if len(server.script) > 1
                                       else server.script[0])
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                time.sleep(server.delay)
                with lock:
                    server.active -= 1
                if self.path != "/v1/chat/completions":
                    status, content = 404, "no such route"
                if status == 200:
                    payload = json.dumps({
                        "id": "chatcmpl-1", "object": "chat.completion",
                        "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                    }).encode()
                else:
                    payload = json.dumps({"error": {"message": content}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    srv = ChatServer()
    yield srv
    srv.close()


def _config(server: ChatServer, tmp_path: Path, **llm: Any) -> GenerateConfig:
    settings = {"base_url": server.url, "model": "test-model", "api_key_env": "TS_TEST_KEY",
                "backoff_s": 0.01, "retries": 2, "concurrency": 2,
                "cache_dir": str(tmp_path / "cache"), **llm}
    return GenerateConfig(generator="llm", per_context=5, llm=LLMGenerateConfig(**settings))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TS_TEST_KEY", "sk-test")


def test_seed_prompt_json_reply_and_span_check(server: ChatServer, tmp_path: Path) -> None:
    server.script = [(200, "```json\n" + json.dumps(GOOD) + "\n```")]
    generator = make_generator(_config(server, tmp_path))
    records = list(generator.generate(CONTEXT, limit=5))
    request = server.requests[0]
    prompt = request["messages"][-1]["content"]
    assert prompt.startswith("Generate 7 QA pairs from this context: The broker")
    assert "Include 2 unanswerable questions" in prompt and request["model"] == "test-model"
    assert server.headers[0]["Authorization"] == "Bearer sk-test"
    answerable = [r for r in records if r.kind == "answerable"]
    assert [(r.answer, r.answer_start) for r in answerable] == [("7420", 27), ("March 2024", 61)]
    assert [r.question for r in records if r.kind == "unanswerable"] == ["Who wrote the broker?"]
    assert isinstance(generator, LLMGenerator)
    assert len(generator.rejected) == 1 and "'30 seconds' is not a span" in (
        generator.rejected[0].reason)


def test_malformed_json_is_retried_then_the_context_is_skipped(
    server: ChatServer, tmp_path: Path
) -> None:
    server.script = [(200, "Sure! Here are your pairs: {pairs: [oops")]
    generator = make_generator(_config(server, tmp_path, retries=2))
    assert list(generator.generate(CONTEXT, limit=5)) == []
    assert len(server.requests) == 3  # the first try and two retries
    assert isinstance(generator, LLMGenerator)
    (rejection,) = generator.rejected
    assert rejection.stage == "generate" and "context skipped" in rejection.reason
    assert "no JSON object" in rejection.reason and "after 3 attempts" in rejection.reason
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.json"))


def test_schema_violations_are_retried(server: ChatServer, tmp_path: Path) -> None:
    server.script = [(200, json.dumps({"pairs": [{"answer": "7420"}]})), (200, json.dumps(GOOD))]
    records = make_generator(_config(server, tmp_path)).generate(CONTEXT, limit=5)
    assert len(server.requests) == 2 and len(records) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_back_off_and_retry(
    server: ChatServer, tmp_path: Path, status: int
) -> None:
    server.script = [(status, "slow down"), (status, "slow down"), (200, json.dumps(GOOD))]
    records = make_generator(_config(server, tmp_path, retries=3)).generate(CONTEXT, limit=5)
    assert len(server.requests) == 3 and len(records) == 3


def test_a_rerun_is_served_from_the_cache(server: ChatServer, tmp_path: Path) -> None:
    server.script = [(200, json.dumps(GOOD))]
    contexts = [CONTEXT, Context("doc#1", "doc", 1, CONTEXT.text + " It is fast.")]
    config = _config(server, tmp_path)
    first = generate_questions(make_generator(config), contexts, limit=5)
    assert len(server.requests) == 2
    second_generator = make_generator(config)
    second = generate_questions(second_generator, contexts, limit=5)
    assert len(server.requests) == 2  # no new request
    assert isinstance(second_generator, LLMGenerator) and second_generator.client.requests == 0
    assert [[r.id for r in rs] for rs in first] == [[r.id for r in rs] for rs in second]


def test_client_errors_and_missing_keys_are_user_errors(
    server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script = [(401, "invalid api key")]
    with pytest.raises(TunesmithError, match="HTTP 401"):
        make_generator(_config(server, tmp_path)).generate(CONTEXT, limit=5)
    monkeypatch.delenv("TS_TEST_KEY")
    with pytest.raises(TunesmithError, match="TS_TEST_KEY"):
        make_generator(_config(server, tmp_path)).generate(CONTEXT, limit=5)


def test_concurrency_limit_is_honoured(server: ChatServer, tmp_path: Path) -> None:
    server.script = [(200, json.dumps(GOOD))]
    server.delay = 0.1
    client = ChatClient(_config(server, tmp_path, concurrency=3).llm, None)
    replies = client.complete_many([f"prompt {i}" for i in range(7)], parse_pairs)
    assert len(server.requests) == 7 and not any(isinstance(r, Failure) for r in replies)
    assert 1 < server.max_active <= 3
    assert [r["messages"][-1]["content"] for r in server.requests].count("prompt 3") == 1


def test_llm_paraphrases_for_augmentation(server: ChatServer, tmp_path: Path) -> None:
    from tunesmith.config.data_gen import AugmentConfig
    from tunesmith.data.augment import augment_records
    from tunesmith.data.schema import QARecord

    server.script = [(200, json.dumps({"paraphrases": [
        "On which port does the broker accept connections?", "Port 7420 is used for what?"]}))]
    record = QARecord(id="q1", question="Which port does the broker listen on?",
                      contexts=[CONTEXT.text], answer="7420", answer_start=27,
                      source_doc_ids=["doc"])
    made, rejected = augment_records(
        [record], AugmentConfig(paraphrase=2, paraphrase_backend="llm"), seed=0,
        generate=_config(server, tmp_path), cache_dir=tmp_path)
    assert "Paraphrase this question 2 different ways" in (
        server.requests[0]["messages"][-1]["content"])
    assert [r.question for r in made] == ["On which port does the broker accept connections?"]
    assert [r.reason for r in rejected] == ["paraphrase: gives the answer away"]
    assert made[0].answer_start == 27 and made[0].provenance["paraphrase_backend"] == "model"
