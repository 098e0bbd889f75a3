"""The build's closing stages together: quality control, saved review decisions, balance, and
what is written (splits, rejected.jsonl with stages, stats.json, data card, data report)."""

from __future__ import annotations

import json
from pathlib import Path

from tunesmith.config import load_config
from tunesmith.data.build import BuiltDataset, check_and_balance, write_dataset
from tunesmith.data.review import Decision, save_decisions
from tunesmith.data.schema import QARecord, read_records

CONTEXTS = [f"Node {i} of the cluster listens on port {7000 + i} and stores its logs in "
            f"/var/log/node{i}." for i in range(12)]


def _answerable(i: int) -> QARecord:
    port = str(7000 + i)
    return QARecord(id=f"q{i:02d}", question=f"Which port does node {i} of the cluster listen on?",
                    contexts=[CONTEXTS[i]], answer=port,
                    answer_start=CONTEXTS[i].index(port), source_doc_ids=[f"d{i}"])


def test_checks_review_balance_and_artifacts(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "tunesmith.yaml").write_text(
        f"schema_version: 1\nname: qc\noutput_dir: {tmp_path / 'runs'}\n"
        "data:\n  sources: [{path: docs}]\n"
        "  quality: {semantic: false}\n"
        "  balance: {tokenizer: estimate}\n")
    config = load_config(tmp_path / "tunesmith.yaml")
    train = [_answerable(i) for i in range(8)]
    train.append(train[0].model_copy(update={"id": "dup", "question":
                                             "Which port does node 0 of the cluster listen on"}))
    train.append(QARecord(id="lost", question="Which disk holds the logs?",
                          contexts=[CONTEXTS[1]], answer="/dev/sdz"))
    train += [QARecord(id=f"u{i}", question=f"Who maintains node {i}?", kind="unanswerable",
                       contexts=[CONTEXTS[i]]) for i in range(2)]
    test = [_answerable(i) for i in range(8, 12)]
    test.append(train[3].model_copy(update={"id": "leak"}))
    built = BuiltDataset({"train": train, "val": [], "test": test}, [], {"train": ["d0"],
                         "val": [], "test": ["d8"]})
    save_decisions(tmp_path / "review", "correctness",
                   [Decision("q05", "correctness", "reject", "wrong port"),
                    Decision("q06", "correctness", "accept")])

    steps: list[str] = []
    check_and_balance(config, built, steps.append)
    out = tmp_path / "runs" / "qc" / "data"
    stats = write_dataset(built, out, config)

    stages = {}
    for line in (out / "rejected.jsonl").read_text().splitlines():
        row = json.loads(line)
        stages[row["record"]["id"]] = row["stage"]
    assert stages["dup"] == "dedup"
    assert stages["lost"] == "span"
    assert stages["q05"] == "review"
    assert stages["q03"] == "leakage"  # the test copy ("leak") is kept
    kept = {r.id for name in ("train", "val", "test") for r in read_records(out / f"{name}.jsonl")}
    assert "leak" in kept and not {"dup", "lost", "q05", "q03"} & kept
    assert stats["review"]["rounds"]["correctness"]["rate"] == 0.5
    assert stats["rejected_by_stage"]["dedup"] == 1
    assert stats["lengths"]["counted_by"].startswith("estimate")
    assert set(stats["balance"]) == {"train", "val", "test"}
    assert any("review" in s for s in steps)
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 3  # lengths, balance bars
    assert "correctness" in report
    assert (out / "README.md").is_file()  # the data card
