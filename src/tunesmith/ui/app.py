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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.ui import ask_routes, review_routes, runs_routes
from tunesmith.ui.pages import HERE, UIState, is_htmx, render

# the mistakes a user can fix, as the CLI's `guarded` knows them: a message, never a traceback
USER_ERRORS = (TunesmithError, FileNotFoundError)  # ConfigError, ModelLoadError, ... included


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
