"""The FastAPI app: OpenAI's ``/v1/chat/completions`` and ``/v1/models``, and ``/health``.

Every answer is the guard's (:class:`~tunesmith.serve.service.GuardService`); its fields ride in
a ``tunesmith`` object beside OpenAI's. The whole answer is decided before the first byte is
sent, because the gates judge the finished answer (a streamed answer cannot be taken back), so
a stream sends the decided answer in word pieces, the ``tunesmith`` object in its last chunk.

Nothing a client sends can make a 500: a body that is too large, not JSON, or not a valid
request, a wrong key, an unknown model or route all get a 4xx with OpenAI's JSON error body;
a full queue gets a 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from tunesmith import __version__
from tunesmith.guard import GuardedAnswer
from tunesmith.serve.batching import Batcher, QueueFullError
from tunesmith.serve.schemas import (
    RequestError,
    chunk,
    completion,
    error_body,
    parse_request,
    pieces,
    usage,
)
from tunesmith.serve.service import GuardService


def create_app(service: GuardService, api_key: str | None = None) -> FastAPI:
    """The server for ``service``; with ``api_key``, /v1 routes need ``Bearer <api_key>``."""
    settings = service.config.serve
    batcher: Batcher[GuardedAnswer] = Batcher(service.answer, settings.queue_size,
                                              settings.max_batch_size, settings.batch_wait_ms)
    started = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="tunesmith", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.batcher = batcher
    app.state.service = service

    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(f"{request.method} {request.url.path}: {exc.detail}",
                                       kind), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(QueueFullError)
    async def overloaded(request: Request, exc: QueueFullError) -> JSONResponse:
        return JSONResponse(error_body(f"the server is busy ({exc}); retry shortly",
                                       "server_overloaded"),
                            status_code=503, headers={"Retry-After": "1"})

    def authorise(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
                token.strip().encode(), api_key.encode()):
            raise RequestError("missing or wrong API key: send 'Authorization: Bearer <key>'",
                               401, kind="authentication_error", code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "started": started,
                "queue": {"waiting": batcher.waiting, "size": settings.queue_size},
                **service.describe(), **batcher.stats.as_dict()}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorise(request)
        return {"object": "list", "data": [_model_card(service.model_id, started)]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> dict[str, Any]:
        authorise(request)
        _check_model(service, model_id)
        return _model_card(service.model_id, started)

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> JSONResponse | StreamingResponse:
        authorise(request)
        body = await _read_body(request, settings.max_request_bytes)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise RequestError(f"the body is not valid JSON ({exc})") from None
        req = parse_request(payload)
        _check_model(service, req.model)
        question, context = req.question_and_context()
        counted = service.count(question, context, req.requested_tokens())
        result = await batcher.submit(question, context, counted.max_tokens)
        guard = result.to_json()
        content = result.answer or ""
        generated = service.tokens(result.raw_answer)
        finish = ("length" if not result.rejection_flag and generated >= counted.max_tokens
                  else "stop")
        used = usage(counted.prompt_tokens, generated)
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not req.stream:
            return JSONResponse(completion(completion_id, created, service.model_id, content,
                                           finish, used, guard))
        include_usage = bool(req.stream_options and req.stream_options.include_usage)

        async def events() -> AsyncIterator[str]:
            def sse(obj: dict[str, Any]) -> str:
                return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

            head = (completion_id, created, service.model_id)
            yield sse(chunk(*head, {"role": "assistant", "content": ""}))
            for piece in pieces(content):
                yield sse(chunk(*head, {"content": piece}))
            yield sse(chunk(*head, {}, finish, tunesmith=guard))
            if include_usage:
                yield sse({**chunk(*head, {}), "choices": [], "usage": used})
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return app


def _model_card(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "tunesmith"}


def _check_model(service: GuardService, name: str) -> None:
    if name != service.model_id:
        raise RequestError(f"model {name!r} is not served here; this server serves "
                           f"{service.model_id!r} (GET /v1/models)", 404, param="model",
                           kind="not_found_error", code="model_not_found")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestError(f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise _too_large(int(declared), limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise _too_large(len(body), limit)
    if not body:
        raise RequestError("the body is empty; send a JSON chat completion request")
    return bytes(body)


def _too_large(size: int, limit: int) -> RequestError:
    return RequestError(f"the request has {size:,} bytes or more; this server takes at most "
                        f"{limit:,} (serve.max_request_bytes)", 413,
                        code="request_too_large")
