"""Review: a round's Q&A records one at a time; accept, reject or edit, from the keyboard.

Each decision goes through :func:`tunesmith.data.review_session.decide_record` into the
round's file under ``data.review.dir``, the file ``data review import`` writes and the next
``data build`` applies.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tunesmith.data.review_session import RoundState, decide_record, load_round
from tunesmith.data.schema import QARecord
from tunesmith.ui.pages import UIState, is_htmx, render

router = APIRouter()


def _state(request: Request, round_name: str | None) -> tuple[UIState, RoundState]:
    ui: UIState = request.app.state.ui
    expected = ui.config.data.review.expected
    name = round_name or next(iter(expected))
    return ui, load_round(ui.layout.data_dir, ui.review_dir, expected, name)


def _panel(request: Request, state: RoundState, record: QARecord | None,
           saved: str = "", reviewer: str = "", full: bool = False) -> Response:
    ui: UIState = request.app.state.ui
    context = {"state": state, "record": record, "saved": saved, "reviewer": reviewer,
               "oob": not full,
               "expected": ui.config.data.review.expected, "review_dir": ui.review_dir,
               "decision": state.decided.get(record.id) if record else None,
               "previous": state.neighbour(record.id, -1) if record else None,
               "next": state.neighbour(record.id, 1) if record else None}
    return render(request, "review/page.html" if full else "review/panel.html", context)


def _link(round_name: str, record_id: str | None = None) -> str:
    query = {"round": round_name, **({"id": record_id} if record_id else {})}
    return "?" + urlencode(query)


@router.get("/review")
def review_page(request: Request, round: Annotated[str | None, Query()] = None,
                id: Annotated[str | None, Query()] = None,
                reviewer: Annotated[str, Query()] = "") -> Response:
    _, state = _state(request, round)
    return _panel(request, state, state.current(id), reviewer=reviewer,
                  full=not is_htmx(request))


@router.post("/review/decide")
def decide(
    request: Request,
    round: Annotated[str, Form()],
    id: Annotated[str, Form()],
    decision: Annotated[Literal["accept", "reject", "edit"], Form()],
    reason: Annotated[str, Form()] = "",
    reviewer: Annotated[str, Form()] = "",
    question: Annotated[str | None, Form()] = None,
    answer: Annotated[str | None, Form()] = None,
    unanswerable: Annotated[bool, Form()] = False,
) -> Response:
    ui: UIState = request.app.state.ui
    edit: dict[str, str | None] = {}
    if decision == "edit":  # an edit keeps the record, as corrected
        if question is not None:
            edit["question"] = question
        edit["answer"] = None if unanswerable else (answer or "")
    with ui.review_lock:
        decide_record(ui.layout.data_dir, ui.review_dir, ui.config.data.review.expected,
                      round, id, "accept" if decision == "edit" else decision, reason,
                      reviewer, edit)
    _, state = _state(request, round)
    upcoming = state.next_pending(id) or state.current(id)
    if not is_htmx(request):
        return RedirectResponse("/review" + _link(round, upcoming.id if upcoming else None),
                                status_code=303)
    return _panel(request, state, upcoming, saved=f"{id}: {decision}", reviewer=reviewer)
