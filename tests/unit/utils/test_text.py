"""One context format: what the data build makes of a document is what every prompt gets."""

from __future__ import annotations

from pathlib import Path

from tunesmith.config.guard import GuardConfig
from tunesmith.data.chunk import chunk_document
from tunesmith.data.formats.examples import to_prompt_completion
from tunesmith.data.schema import QARecord
from tunesmith.data.sources.base import Document
from tunesmith.data.sources.text import markdown_to_text
from tunesmith.models.chat import build_messages
from tunesmith.utils.text import normalize_context

QUICKSTART = Path(__file__).parents[3] / "examples" / "quickstart" / "corpus"

# a section as a user pastes it: heading first, hard line wraps, a list, inline code
SECTION = """## Retention

Messages are kept for 7 days by
default. Set `retention.days` to change
it.

- Compacted topics keep the **latest** value
  for each key.
"""


def test_a_user_section_becomes_what_the_build_makes_of_the_same_text() -> None:
    built = chunk_document(Document("d", markdown_to_text(SECTION)[1], "d"), 2000, 500)
    assert len(built) == 1
    assert normalize_context(SECTION) == built[0].text
    assert normalize_context(SECTION) == (
        "Messages are kept for 7 days by default. Set retention.days to change it. "
        "Compacted topics keep the latest value for each key.")


def test_normalising_a_built_context_changes_nothing() -> None:
    for path in sorted(QUICKSTART.glob("*.md"))[:8]:
        doc = Document(path.name, markdown_to_text(path.read_text(encoding="utf-8"))[1], path.name)
        for context in chunk_document(doc, max_chars=900, min_chars=200):
            assert normalize_context(context.text) == context.text


def test_training_and_inference_prompts_hold_the_same_context() -> None:
    guard = GuardConfig()
    record = QARecord(id="q", question="How long are messages kept?", contexts=[SECTION],
                      answer="7 days", answer_start=None)
    training = to_prompt_completion(record, guard)["prompt"]
    inference = build_messages(SECTION, record.question, guard.system_message())
    assert training == inference
    assert "##" not in inference[-1]["content"] and "by default" in inference[-1]["content"]
    assert normalize_context(SECTION) in inference[-1]["content"]
