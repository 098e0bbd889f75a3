"""The pages end to end in headless Chromium: review records from the keyboard and see them
counted (and saved where the next build reads them), browse the runs, ask a question."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tunesmith.config import RunConfig
from tunesmith.data.review import apply_review, built_records, load_rounds
from tunesmith.ui import create_app
from tunesmith.utils.layout import RunLayout


@pytest.fixture(scope="module")
def app(ui_config: RunConfig, no_decisions: None) -> Any:
    return create_app(ui_config)


@pytest.fixture(scope="module")
def url(app: Any, serving: Any) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(30_000)  # the first question loads the model
    yield opened
    context.close()


def _rate_row(page: Any, round_name: str) -> tuple[str, str]:
    row = page.locator(f'#rates tr[data-round="{round_name}"]')
    return row.locator(".reviewed").inner_text(), row.locator(".rejected").inner_text()


def test_review_records_from_the_keyboard(page: Any, url: str, ui_config: RunConfig) -> None:
    page.goto(f"{url}/review")
    assert page.locator("#reviewed-count").inner_text() == "0"
    assert _rate_row(page, "correctness") == ("0", "0")
    first = page.locator("#record").get_attribute("data-id")

    # w: write a reason; Enter rejects; the panel (htmx) counts it and moves on
    page.keyboard.press("w")
    # keys.js focuses the field on the next tick: typed before that, "a" would accept
    page.wait_for_function("document.activeElement && document.activeElement.id === 'reason'")
    page.keyboard.type("the answer is wrong")
    page.keyboard.press("Enter")
    page.locator("#saved").wait_for()
    assert page.locator("#reviewed-count").inner_text() == "1"
    assert _rate_row(page, "correctness") == ("1", "1")
    assert page.locator('#rates tr[data-round="correctness"] .rate').inner_text() == "100.0%"
    second = page.locator("#record").get_attribute("data-id")
    assert second != first

    page.keyboard.press("a")  # accept
    page.locator("#reviewed-count", has_text="2").wait_for()
    assert _rate_row(page, "correctness") == ("2", "1")

    # e: edit; an answer that is not in the context is refused with a message, nothing saved
    third = page.locator("#record").get_attribute("data-id")
    page.keyboard.press("e")
    page.locator("#edit-question").fill("What does the first sentence say?")
    page.locator("#edit-unanswerable").uncheck()
    page.locator("#edit-answer").fill("port 9999")
    page.locator("#edit-answer").press("Enter")
    assert "does not appear in the context" in page.locator("#messages .error").inner_text()
    assert page.locator("#reviewed-count").inner_text() == "2"
    answer = " ".join(page.locator("#context").inner_text().split()[:3])  # from the context
    page.locator("#edit-answer").fill(answer)
    page.locator("#edit-answer").press("Enter")
    page.locator("#reviewed-count", has_text="3").wait_for()
    assert page.locator("#messages .error").count() == 0

    # k goes back to the rejected record: its decision is shown
    page.goto(f"{url}/review?round=correctness&id={second}")
    page.keyboard.press("k")
    page.locator(f'#record[data-id="{first}"]').wait_for()
    assert page.locator("#status").inner_text() == "reject"

    # the decisions are in the round's file, as the next build reads them
    review_dir = ui_config.resolve(ui_config.data.review.dir)
    rows = [json.loads(line) for line in (review_dir / "correctness.jsonl").read_text()
            .splitlines()]
    assert [(r["id"], r["decision"]) for r in rows] == [
        (first, "reject"), (second, "accept"), (third, "accept")]
    assert rows[0]["reason"] == "the answer is wrong"
    assert rows[2]["edit"]["answer"] == answer
    layout = RunLayout.of(ui_config)
    splits, dropped = apply_review({"all": built_records(layout.data_dir)},
                                   load_rounds(review_dir, list(ui_config.data.review.expected)))
    assert [r.record.id for r in dropped] == [first]
    edited = next(r for r in splits["all"] if r.id == third)
    assert (edited.question, edited.answer, edited.answer_start) == (
        "What does the first sentence say?", answer, 0)

    # the next round reviews what this one kept
    page.goto(f"{url}/review?round=relevance")
    assert page.locator("#progress").inner_text().startswith("Round relevance: 0 of 5")


def test_runs_metrics_plots_report_and_side_by_side(page: Any, url: str) -> None:
    page.goto(f"{url}/runs")
    row = page.locator('#runs tr[data-run="uirun"]')
    assert "45.25" in row.inner_text() and "lora" in row.inner_text()
    assert "30.75" in page.locator('#runs tr[data-run="other"]').inner_text()

    row.get_by_role("link", name="uirun").click()
    page.wait_for_url(f"{url}/runs/uirun")
    assert "45.25" in page.locator("#metrics").inner_text()  # tuned F1
    assert page.locator("main img").count() == 3  # loss, learning rate, scores
    page.wait_for_function("() => [...document.querySelectorAll('main img')]"
                           ".every((img) => img.complete && img.naturalWidth > 0)")
    with page.expect_popup() as opened:  # report.html, in a tab of its own
        page.locator("#report-link").click()
    report = opened.value
    report.wait_for_load_state()
    assert report.title() == "tunesmith report: uirun"
    report.close()

    page.goto(f"{url}/runs")
    page.locator('input[value="uirun"]').check()
    page.locator('input[value="other"]').check()
    page.get_by_role("button", name="Compare the ticked runs side by side").click()
    table = page.locator("#side-by-side")
    table.wait_for()
    f1_row = table.locator("tr", has=page.locator("th", has_text="tuned f1"))
    runs = table.locator("thead th").all_inner_texts()[1:]
    assert dict(zip(runs, f1_row.inner_text().split("\t")[1:], strict=True)) == {
        "uirun": "45.25", "other": "30.75"}


def test_ask_a_question_and_see_the_gates(page: Any, url: str, app: Any) -> None:
    page.goto(f"{url}/ask")
    assert page.locator("#ask-model").input_value() == "tuned"  # the run has an adapter
    question = "Which port does the broker listen on by default?"
    page.locator("#ask-question").fill(question)
    page.locator("#ask-context").fill("port")  # one word: the context_length gate fires
    page.locator("#ask-button").click()
    card = page.locator("#answer-card")
    card.wait_for()
    assert card.get_attribute("data-rejected") == "true"
    assert page.locator("#rejection-flag").inner_text() == "true"
    gate = page.locator('#gates tr[data-gate="context_length"]')
    assert "fired" in gate.inner_text()
    assert page.locator("#gates tbody tr").count() == 3

    # the page shows what `tunesmith answer`'s guard gives for the same input
    context = ("The broker listens on port 7420 by default. Version 2.1 was released in "
               "March 2021.")
    page.locator("#ask-context").fill(context)
    page.evaluate("() => { document.querySelector('#result').innerHTML = ''; }")
    page.locator("#ask-button").click()
    page.locator("#answer-card").wait_for()
    direct = app.state.ui.answer("tuned", question, context)
    shown = page.locator("#answer-card")
    assert shown.get_attribute("data-rejected") == str(direct["rejection_flag"]).lower()
    for gate in direct["gates"]:
        row = page.locator(f'#gates tr[data-gate="{gate["gate"]}"]').inner_text()
        assert ("fired" if gate["fired"] else "passed") in row


def test_pages_load_nothing_from_the_network(page: Any, url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path in ("/review", "/runs", "/runs/uirun", "/ask"):
        page.goto(f"{url}{path}")
    assert requested and all(r.startswith(url) for r in requested)
    assert page.evaluate("() => typeof htmx") == "object"  # the vendored copy ran
