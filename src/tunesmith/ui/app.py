"""The ``tunesmith ui`` application: server-rendered pages (FastAPI + Jinja2) with htmx.

The pages hold no logic of their own: each route calls one library function (the review
session, the run summaries, the guard) and renders what it returns. htmx (vendored under
``static/``, nothing fetched at run time) swaps the parts that change; every form and link also
works as a plain request.

A user's mistake (an unknown round or run, an edit whose answer is not in the context, a run
not trained yet) is a 4xx with a one-line message: a page, the fragment htmx swaps in, or
``{"error": ...}`` for a client that does not ask for HTML.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from tunesmith import __version__
from tunesmith.config import ConfigError, RunConfig
from tunesmith.data.sources.base import SourceError
from tunesmith.errors import TunesmithError
from tunesmith.models.loading import ModelLoadError
from tunesmith.registry import UnknownNameError
from tunesmith.report.markup import format_value
from tunesmith.utils.io import DataFileError
from tunesmith.utils.layout import RunLayout

if TYPE_CHECKING:
    from tunesmith.guard import Guard

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["value"] = format_value  # numbers as the report writes them
# the mistakes a user can fix, as the CLI's `guarded` knows them: a message, never a traceback
USER_ERRORS = (TunesmithError, ConfigError, SourceError, ModelLoadError, DataFileError,
               UnknownNameError, FileNotFoundError)


class UIState:
    """What every route reads: the config, its run folder, and the guards loaded so far."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.layout = RunLayout.of(config)
        self.review_dir = config.resolve(config.data.review.dir)
        self.review_lock = threading.Lock()  # one decision written at a time
        self._guards: dict[str, Guard] = {}
        self._guard_lock = threading.Lock()  # one model load, one generation at a time

    def answer(self, label: str, question: str, context: str) -> dict[str, Any]:
        """``tunesmith answer``'s guarded answer, with the model loaded once per label."""
        from tunesmith.guard import Guard, validate_output  # torch and the model: on first use

        with self._guard_lock:
            if label not in self._guards:
                self._guards[label] = Guard(self.config, label=label)
            result = self._guards[label].answer(question, context).to_json()
        validate_output(result)
        return result


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(request: Request, name: str, context: Mapping[str, Any] | None = None,
           status_code: int = 200) -> Response:
    state: UIState = request.app.state.ui
    page = {"config": state.config, "version": __version__, "section": name.split("/")[0],
            **(context or {})}
    return templates.TemplateResponse(request, name, page, status_code=status_code)


def _error(request: Request, status: int, message: str) -> Response:
    message = " ".join(str(message).split())  # one line
    if is_htmx(request):  # into the page's message line, leaving the panel it came from
        response = render(request, "_message.html", {"message": message}, status)
        response.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        return response
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status_code=status)
    return render(request, "error.html", {"message": message}, status)


def create_app(config: RunConfig) -> FastAPI:
    """The web pages for ``config``'s run: Review, Runs, Ask."""
    from tunesmith.ui import ask_routes, review_routes, runs_routes

    app = FastAPI(title="tunesmith ui", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.ui = UIState(config)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (review_routes, runs_routes, ask_routes):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/runs", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(request, 422, f"{where}: {first.get('msg', 'invalid')}")

    async def user_error(request: Request, exc: Exception) -> Response:
        return _error(request, 404 if isinstance(exc, FileNotFoundError) else 400, str(exc))

    for error in USER_ERRORS:
        app.add_exception_handler(error, user_error)
    return app
