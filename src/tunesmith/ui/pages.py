"""What every page of ``tunesmith ui`` shares: the templates, the state, rendering.

The routes (``*_routes.py``) and the application (``app.py``) both build on this module, so
neither imports the other's module back.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.report.markup import format_value
from tunesmith.utils.layout import RunLayout

if TYPE_CHECKING:
    from tunesmith.guard import Guard

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["value"] = format_value  # numbers as the report writes them


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
