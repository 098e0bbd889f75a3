"""Ask: a question and a context in, the guarded answer out, with every gate's value and
threshold (the :class:`~tunesmith.guard.Guard` behind ``tunesmith answer``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tunesmith.errors import TunesmithError
from tunesmith.ui.pages import UIState, is_htmx, render

router = APIRouter()


def _form(request: Request, **values: object) -> dict[str, object]:
    ui: UIState = request.app.state.ui
    trained = ui.layout.adapter.exists() or ui.layout.task_dir(ui.config.model.task).exists()
    return {"trained": trained, "question": "", "context": "",
            "model": "tuned" if trained else "base", **values}


@router.get("/ask")
def ask_page(request: Request) -> Response:
    return render(request, "ask/page.html", _form(request))


@router.post("/ask")
def ask(request: Request, question: Annotated[str, Form()] = "",
        context: Annotated[str, Form()] = "",
        model: Annotated[Literal["tuned", "base"], Form()] = "tuned") -> Response:
    if not question.strip() or not context.strip():
        raise TunesmithError("the question and the context must not be empty")
    ui: UIState = request.app.state.ui
    result = ui.answer(model, question, context)
    page = _form(request, question=question, context=context, model=model, result=result,
                 oob=is_htmx(request))
    return render(request, "ask/result.html" if is_htmx(request) else "ask/page.html", page)
