"""PII redaction with Presidio: documents, QA records with remapped offsets, the scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunesmith.config import load_config
from tunesmith.config.data_io import PIIConfig
from tunesmith.data.ingest import ingest_sources
from tunesmith.data.quality.pii import PIIError, PIIRedactor, scan_pii, scan_pii_many
from tunesmith.data.quality.pii_recall import load_labelled
from tunesmith.data.schema import QARecord
from tunesmith.data.sources import Document

TICKET = ("Ticket from Maria Garcia: please call me at (415) 555-0132 or write to "
          "maria.garcia@example.com about card 4111 1111 1111 1111. The portal is at "
          "https://support.example.org/help.")


@pytest.fixture(scope="session")
def redactor() -> PIIRedactor:
    return PIIRedactor(PIIConfig(enabled=True))  # loads the analyzer once for the session


@pytest.fixture(scope="session")
def mixed() -> PIIRedactor:
    return PIIRedactor(PIIConfig(enabled=True, mode="synthetic",
                                 per_entity={"EMAIL_ADDRESS": "redact", "CREDIT_CARD": "keep"}))


def test_redact_replaces_each_type_and_counts(redactor: PIIRedactor) -> None:
    redacted = redactor.redact(TICKET)
    assert redacted.text == (
        "Ticket from [REDACTED]: please call me at [REDACTED] or write to [REDACTED] about "
        "card [REDACTED]. The portal is at https://support.example.org/help.")
    assert redacted.counts() == {"PERSON": 1, "PHONE_NUMBER": 1, "EMAIL_ADDRESS": 1,
                                 "CREDIT_CARD": 1}
    for r in redacted.replacements:  # the offsets describe both texts
        assert TICKET[r.start:r.end] == r.original
        assert redacted.text[r.new_start:r.new_end] == r.new == "[REDACTED]"


def test_synthetic_is_consistent_and_per_entity(mixed: PIIRedactor) -> None:
    first, second = mixed.redact_many([TICKET, "Maria Garcia called again."])
    assert "Maria Garcia" not in first.text and "[REDACTED]" in first.text  # e-mail
    assert "4111 1111 1111 1111" in first.text  # CREDIT_CARD: keep
    fake = next(r.new for r in first.replacements if r.entity_type == "PERSON")
    assert fake and fake != "[REDACTED]"
    assert second.text == f"{fake} called again."  # the same person, the same fake
    assert mixed.redact(TICKET).text == first.text  # deterministic


def test_record_answer_offsets_are_remapped(redactor: PIIRedactor, mixed: PIIRedactor) -> None:
    context = ("The ticket was opened by Maria Garcia on Monday from 10.0.0.7. Maria Garcia "
               "asked for a refund of 40 dollars.")
    after = QARecord(id="q1", question="What did Maria Garcia ask for?", contexts=[context],
                     answer="a refund of 40 dollars", answer_start=context.index("a refund"))
    who = QARecord(id="q2", question="Who opened the ticket?", contexts=[context],
                   answer="Maria Garcia", answer_start=context.index("Maria"),
                   alt_answers=["Maria Garcia"])
    out, counts = redactor.redact_record(after)
    assert out.question == "What did [REDACTED] ask for?"
    assert out.answer == "a refund of 40 dollars"
    assert out.contexts[0][out.answer_start:].startswith("a refund of 40 dollars")
    assert out.answer_start != after.answer_start  # shifted by the replacements before it
    assert counts == {"PERSON": 3, "IP_ADDRESS": 1}
    assert out.provenance["pii_redactions"] == {"PERSON": 3, "IP_ADDRESS": 1}
    out, _ = mixed.redact_record(who)
    assert out.answer != "Maria Garcia" and out.answer_start == who.answer_start
    assert out.contexts[0][out.answer_start:].startswith(out.answer)
    assert out.alt_answers == [out.answer]
    assert out.answer in out.contexts[0].split(" on Monday")[0]


def test_documents_get_meta_and_counts(redactor: PIIRedactor) -> None:
    docs = [Document("a.txt", TICKET, "a.txt"), Document("b.txt", "Nothing here.", "b.txt")]
    out, counts = redactor.redact_documents(docs)
    assert counts["EMAIL_ADDRESS"] == 1 and out[0].meta["pii_redactions"]["PERSON"] == 1
    assert out[1] is docs[1]


def test_scan_pii(redactor: PIIRedactor) -> None:
    findings = scan_pii("Write to bob.jones@corp.io today.", redactor)
    assert [(f.entity_type, f.text) for f in findings] == [("EMAIL_ADDRESS", "bob.jones@corp.io")]
    assert scan_pii_many(["no personal data", TICKET], redactor)[0] == []
    # the last ten digits pass the UK NHS checksum: the containing phone number wins
    (phone,) = scan_pii("Call +1 415 555 0180 today.", redactor)
    assert (phone.entity_type, phone.text) == ("PHONE_NUMBER", "+1 415 555 0180")


def test_unknown_entity_is_a_clear_error(redactor: PIIRedactor) -> None:
    with pytest.raises(PIIError, match="unknown entity type.*SHOE_SIZE"):
        PIIRedactor(PIIConfig(enabled=True, entities=["PERSON", "SHOE_SIZE"]))


def test_ingest_redacts_before_generation(tmp_path: Path, redactor: PIIRedactor) -> None:
    (tmp_path / "tickets.jsonl").write_text(
        '{"id": 7, "body": "Customer Maria Garcia (maria.garcia@example.com) cannot log in."}\n')
    (tmp_path / "tunesmith.yaml").write_text(
        "name: t\ndata:\n  sources:\n    - {path: tickets.jsonl, text_field: body, id_field: id}\n"
        "  pii: {enabled: true, per_entity: {PERSON: synthetic}}\n", encoding="utf-8")
    ingested = ingest_sources(load_config(tmp_path / "tunesmith.yaml", []))
    (doc,) = ingested.documents
    assert doc.id == "tickets.jsonl#7"
    assert "maria" not in doc.text.lower() and "([REDACTED])" in doc.text
    assert ingested.pii == {"EMAIL_ADDRESS": 1, "PERSON": 1}


TICKETS = Path(__file__).resolve().parents[2] / "fixtures" / "pii" / "tickets.jsonl"


def _records_after_pii() -> list[QARecord]:
    """QA records whose answer sits after one or more PII entities in the context: every
    near miss of the labelled ticket set (an order number, a date ...) that follows an
    entity, and a few hand-made edge cases."""
    records = []
    for item in load_labelled(TICKETS):
        for n, near in enumerate(item.near_misses):
            if any(e.end <= near.start for e in item.entities):
                records.append(QARecord(
                    id=f"{item.id}-{n}", question=f"What is the {near.label} mentioned?",
                    contexts=[item.text], answer=near.text, answer_start=near.start))
    context = ("Maria Garcia (maria.garcia@example.com, +1 415 555 0180) paid with card "
               "4111 1111 1111 1111. Refund order 100234871 to Maria Garcia by Friday.")
    for n, answer in enumerate(["100234871", "Friday", "Maria Garcia by Friday",
                                " (maria.garcia@example.com", "4111 1111 1111 1111. Refund"]):
        start = context.rindex(answer) if answer != "Maria Garcia by Friday" else \
            context.index(answer)
        records.append(QARecord(id=f"edge-{n}", question="What?", contexts=[context],
                                answer=answer, answer_start=start))
    records.append(QARecord(id="edge-no-start", question="Which order?", contexts=[context],
                            answer="order 100234871"))
    return records


@pytest.mark.parametrize("config", [
    PIIConfig(enabled=True),
    PIIConfig(enabled=True, placeholder="<PII>"),
    PIIConfig(enabled=True, mode="synthetic"),
    PIIConfig(enabled=True, mode="synthetic", per_entity={"EMAIL_ADDRESS": "redact",
                                                          "CREDIT_CARD": "keep"}),
], ids=["placeholder", "short-placeholder", "synthetic", "mixed"])
def test_redaction_never_shifts_an_answer_span(config: PIIConfig) -> None:
    redactor = PIIRedactor(config)
    records = _records_after_pii()
    assert len(records) >= 50
    shifted = 0
    for record in records:
        out, _ = redactor.redact_record(record)
        assert out.answer is not None
        context = out.contexts[0]
        if record.answer_start is None:
            assert out.answer_start is None and out.answer in context
            continue
        assert out.answer_start is not None
        assert context[out.answer_start:out.answer_start + len(out.answer)] == out.answer
        # an answer no finding touches comes back unchanged, wherever it moved
        touched = any(r.start < record.answer_start + len(record.answer)
                      and record.answer_start < r.end
                      for r in redactor.redact(record.contexts[0]).replacements)
        assert touched or out.answer == record.answer, record.id
        shifted += out.answer_start != record.answer_start
    assert shifted >= len(records) // 2  # the replacements did change the lengths before it
