"""Importers and exporters: the SQuAD round trip through the CLI, NQ and HotpotQA fixtures,
the training formats, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tunesmith.cli.main import app
from tunesmith.config.guard import GuardConfig
from tunesmith.data.formats import EXPORTERS, IMPORTERS
from tunesmith.data.schema import QARecord, read_records
from tunesmith.models.chat import format_user_message
from tunesmith.utils.io import DataFileError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
runner = CliRunner()


def _qas(squad: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        qa["id"]: (article["title"], paragraph["context"], qa["question"],
                   [(a["text"], a["answer_start"]) for a in qa["answers"]],
                   qa["is_impossible"], qa.get("plausible_answers"))
        for article in squad["data"] for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }


def test_squad_round_trip_through_the_cli(squad_sample_dir: Path, tmp_path: Path) -> None:
    original = squad_sample_dir / "dev-sample.json"
    records, exported = tmp_path / "R.jsonl", tmp_path / "S.json"
    done = runner.invoke(app, ["data", "import", "squad", str(original), "--out", str(records),
                               "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["records"] == 626
    assert summary["kinds"] == {"answerable": 293, "unanswerable": 333}
    done = runner.invoke(app, ["data", "export", "squad", str(records), "--out", str(exported)])
    assert done.exit_code == 0, done.output
    before = json.loads(original.read_text(encoding="utf-8"))
    after = json.loads(exported.read_text(encoding="utf-8"))
    assert _qas(after) == _qas(before)  # ids, questions, every answer and start, flags
    assert list(_qas(after)) == list(_qas(before))  # and the order
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    multi = next(r for r in read_records(records) if len(set(r.references)) > 1)
    assert multi.alt_answers and multi.provenance["squad"]["answers"][0]["text"] == multi.answer


def test_squad_export_of_generated_records_locates_every_answer(tmp_path: Path) -> None:
    context = "The broker listens on port 7420. Retention is 7 days."
    records = [
        QARecord(id="q1", question="Which port?", contexts=[context], answer="7420",
                 answer_start=27, alt_answers=["port 7420"], source_doc_ids=["ports.md"]),
        QARecord(id="u1", question="Who wrote it?", contexts=[context], kind="unanswerable",
                 source_doc_ids=["ports.md"]),
    ]
    EXPORTERS.get("squad").write(records, tmp_path / "s.json", GuardConfig())
    data = json.loads((tmp_path / "s.json").read_text())
    (article,) = data["data"]
    assert article["title"] == "ports.md"
    (paragraph,) = article["paragraphs"]
    q1, u1 = paragraph["qas"]
    assert q1["answers"] == [{"text": "7420", "answer_start": 27},
                             {"text": "port 7420", "answer_start": 22}]
    assert u1 == {"question": "Who wrote it?", "id": "u1", "answers": [],
                  "is_impossible": True}


def test_nq_fixture() -> None:
    result = IMPORTERS.get("nq").read(FIXTURES / "nq-simplified-sample.jsonl")
    short, yes_no, unanswerable = result.records
    assert short.question == "Who is the eiffel tower named after?"
    assert short.answer == "Gustave Eiffel"
    assert short.contexts[0][short.answer_start:].startswith("Gustave Eiffel")
    assert "<P>" not in short.contexts[0] and short.contexts[0].startswith("The Eiffel Tower")
    assert (yes_no.answer, yes_no.answer_start) == ("no", None)
    assert unanswerable.kind == "unanswerable" and unanswerable.answer is None
    assert unanswerable.contexts[0].startswith("Marie Skłodowska Curie")
    (skip,) = result.skipped
    assert skip.line == 4 and "long answer only" in skip.reason


def test_hotpotqa_fixture() -> None:
    result = IMPORTERS.get("hotpotqa").read(FIXTURES / "hotpotqa-distractor-sample.json")
    comparison, bridge, _ = result.records
    assert not result.skipped
    assert all(r.kind == "multihop" and r.difficulty == "multihop" for r in result.records)
    assert (comparison.answer, comparison.answer_start) == ("yes", None)
    assert len(comparison.contexts) == 2  # the two supporting documents, no distractor
    assert bridge.source_doc_ids == ["Shirley Temple", "Kiss and Tell (1945 film)"]
    assert bridge.contexts[0][bridge.answer_start:].startswith("Chief of Protocol")
    assert bridge.provenance["hotpotqa"]["distractors"] == ["Meet Corliss Archer",
                                                            "Janet Waldo"]


def test_training_formats_use_the_training_layout(tmp_path: Path) -> None:
    guard = GuardConfig()
    records = [
        QARecord(id="q1", question="Which port?", contexts=["Port 7420."], answer="7420",
                 answer_start=5),
        QARecord(id="u1", question="Who?", contexts=["Port 7420."], kind="unanswerable"),
    ]
    rows = {}
    for name in ("prompt", "chat", "alpaca", "sharegpt"):
        assert EXPORTERS.get(name).write(records, tmp_path / f"{name}.jsonl", guard) == 2
        rows[name] = [json.loads(line) for line in
                      (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    user = format_user_message("Port 7420.", "Which port?")
    assert rows["prompt"][0] == {"prompt": "Context: Port 7420.\nQuestion: Which port?",
                                 "completion": "7420"} and user == rows["prompt"][0]["prompt"]
    assert rows["prompt"][1]["completion"] == guard.abstain_text
    assert [m["role"] for m in rows["chat"][0]["messages"]] == ["system", "user", "assistant"]
    assert rows["chat"][0]["messages"][0]["content"] == guard.system_message()
    assert rows["alpaca"][1] == {"instruction": guard.system_message(), "input":
                                 format_user_message("Port 7420.", "Who?"),
                                 "output": guard.abstain_text}
    assert rows["sharegpt"][0]["id"] == "q1"
    assert [t["from"] for t in rows["sharegpt"][0]["conversations"]] == ["system", "human",
                                                                         "gpt"]


def test_malformed_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "v2.0",\n "data": [\n  {"title": "x",}\n]}')
    with pytest.raises(DataFileError, match=r"bad.json:3: not valid JSON"):
        IMPORTERS.get("squad").read(bad)
    (tmp_path / "binary.json").write_bytes(b"\x00\x01{\x00")
    with pytest.raises(DataFileError, match="binary.json: binary file"):
        IMPORTERS.get("squad").read(tmp_path / "binary.json")
    legacy = {"data": [{"title": "Café", "paragraphs": [{"context": "Le café est prêt à 8 h.",
                                                          "qas": [{"id": "c", "question": "Quand?",
               "answers": [{"text": "8 h", "answer_start": 19}]}]}]}]}
    (tmp_path / "cp1252.json").write_bytes(json.dumps(legacy, ensure_ascii=False)
                                           .encode("cp1252"))
    (record,) = IMPORTERS.get("squad").read(tmp_path / "cp1252.json").records
    assert record.contexts == ["Le café est prêt à 8 h."] and record.answer == "8 h"
    squad = {"data": [{"title": "t", "paragraphs": [{"context": "Port 7420.", "qas": [
        {"id": "ok", "question": "Which port?", "answers": [{"text": "7420",
                                                             "answer_start": 5}]},
        {"id": "off", "question": "Which port?", "answers": [{"text": "7420",
                                                              "answer_start": 0}]},
        {"id": "gone", "question": "Which port?", "answers": [{"text": "8080",
                                                               "answer_start": 0}]},
        {"id": "nokey", "answers": []},
    ]}]}]}
    (tmp_path / "s.json").write_text(json.dumps(squad))
    result = IMPORTERS.get("squad").read(tmp_path / "s.json")
    # a wrong answer_start whose text is in the context is repaired, as the build does
    assert [(r.id, r.answer_start) for r in result.records] == [("ok", 5), ("off", 5)]
    assert result.records[1].provenance["span_repair"] == "moved"
    assert "answer_start 0 repaired to 5" in result.notes[0].reason
    assert [s.reason.split(":")[0] for s in result.skipped] == [
        "key 'data[0].paragraphs[0].qas[2].answers[0]'", "key 'data[0].paragraphs[0].qas[3]'"]
    nq = tmp_path / "nq.jsonl"
    nq.write_bytes(((FIXTURES / "nq-simplified-sample.jsonl").read_text().splitlines()[0]
                    + "\n{oops\n" + json.dumps({"question_text": "q"}) + "\n").encode()
                   + '{"question_text": "café"}\n'.encode("latin-1"))
    result = IMPORTERS.get("nq").read(nq)
    assert len(result.records) == 1
    assert [(s.line, s.reason) for s in result.skipped] == [
        (2, "not valid JSON (Expecting property name enclosed in double quotes)"),
        (3, "missing key 'document_text'"),
        (4, "not UTF-8 (invalid continuation byte at byte 22)")]


def _said(done: Any) -> str:
    return " ".join(done.output.split())  # Rich wraps long lines


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    done = runner.invoke(app, ["data", "import", "squadd", str(tmp_path / "x.json"), "--out",
                               str(tmp_path / "r.jsonl")])
    assert done.exit_code == 1
    assert "x.json: no such file" in _said(done)
    (tmp_path / "x.json").write_text("{}")
    done = runner.invoke(app, ["data", "import", "squadd", str(tmp_path / "x.json"), "--out",
                               str(tmp_path / "r.jsonl")])
    assert done.exit_code == 1 and "did you mean 'squad'" in _said(done)
    assert "Traceback" not in done.output
    (tmp_path / "r.jsonl").write_text('{"id": "a"}\n')
    done = runner.invoke(app, ["data", "export", "chat", str(tmp_path / "r.jsonl"), "--out",
                               str(tmp_path / "o.jsonl")])
    assert done.exit_code == 1 and "r.jsonl:1: key 'question'" in _said(done)
