"""The encoder tasks on the real MiniLM, end to end on a handful of records: train (a few steps,
one unfrozen layer), save and reload identically, calibrate, answer through the Guard and the
CLI with schema-valid JSON, and score with the guarded evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, write_records

pytestmark = pytest.mark.slow

CONTEXTS = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to "
    "Normandy, a region in France.",
    "Harbor listens on port 5672 for client connections and on port 8080 for the web console.",
    "Computational complexity theory classifies problems by the resources they need, such as "
    "time and memory.",
]


def _records() -> list[QARecord]:
    rows = [("Who gave their name to Normandy?", 0, "The Normans"),
            ("Which port does Harbor use for clients?", 1, "5672"),
            ("What does complexity theory classify?", 2, "problems"),
            ("Which region is in France?", 0, "Normandy")]
    records = []
    for i, (q, c, a) in enumerate(rows):
        records.append(QARecord(id=f"a{i}", question=q, contexts=[CONTEXTS[c]], answer=a,
                                answer_start=CONTEXTS[c].index(a)))
    for i, (q, c) in enumerate([("Which port does Harbor use for clients?", 0),
                                ("Who gave their name to Normandy?", 2)]):
        records.append(QARecord(id=f"u{i}", question=q, contexts=[CONTEXTS[c]],
                                kind="unanswerable"))
    return records


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunConfig:
    from rich.console import Console

    from tunesmith.guard.stages import run_calibrate
    from tunesmith.train.encoder import train_encoders

    root = tmp_path_factory.mktemp("guard")
    config = RunConfig.model_validate({
        "name": "enc", "output_dir": str(root / "runs"),
        "model": {"name": "all-MiniLM-L6-v2", "task": "extractive_qa"},
        "data": {"sources": [{"path": str(root)}]},
        "method": {"name": "freeze", "layers": 1},
        "train": {"max_steps": 2, "batch_size": 4, "max_length": 64, "learning_rate": 1e-3},
        "guard": {"rejection_head": {"enabled": True, "max_length": 64},
                  "extractive": {"doc_stride": 16}},
        "eval": {"compare": ["base", "tuned"], "batch_size": 8},
    })
    data = config.run_dir / "data"
    write_records(data / "train.jsonl", _records())
    write_records(data / "val.jsonl", _records())
    write_records(data / "test.jsonl", _records())
    console = Console(quiet=True)
    train_encoders(config, config.run_dir, console)
    run_calibrate(config, config.run_dir, console)
    (root / "tunesmith.yaml").write_text(json.dumps(config.model_dump(mode="json")))
    return config


def test_windows_put_labels_on_the_answer_or_cls() -> None:
    from tunesmith.inference.encoder import load_encoder
    from tunesmith.train.encoder import qa_train_features

    _, tokenizer = load_encoder("all-MiniLM-L6-v2", "extractive_qa")
    records = _records()
    features = qa_train_features(records, tokenizer, max_length=32, doc_stride=8)
    assert len(features) > len(records)  # long contexts became several windows
    found = set()
    for f in features:
        s, e = f["start_positions"], f["end_positions"]
        if s:
            found.add(tokenizer.decode(f["input_ids"][s : e + 1]))
    assert {"the normans", "5672", "problems", "normandy"} <= found


def test_saved_model_reloads_identically(run: RunConfig) -> None:
    from tunesmith.inference.encoder import load_trained_encoder

    task_dir = run.run_dir / "train" / "extractive_qa"
    m1, tok, info = load_trained_encoder(task_dir)
    m2, _, _ = load_trained_encoder(task_dir)
    batch = tok(["Which port?"], [CONTEXTS[1]], return_tensors="pt")
    assert info["task"] == "extractive_qa"
    assert torch.equal(m1(**batch).start_logits, m2(**batch).start_logits)
    assert (run.run_dir / "train" / "answerability" / "head.safetensors").exists()


def test_calibration_writes_thresholds_and_the_table(run: RunConfig) -> None:
    guard_dir = run.run_dir / "guard"
    thresholds = json.loads((guard_dir / "thresholds.json").read_text())
    assert set(thresholds["tuned"]["thresholds"]) == set(thresholds["tuned"]["gates"])
    assert "rejection_head" in thresholds["tuned"]["gates"]
    assert "rejection_head" not in thresholds["base"]["gates"]  # the base has no head
    calibration = json.loads((guard_dir / "calibration.json").read_text())
    row = calibration["tuned"]["table"][0]
    assert {"seed_default", "seed_f1", "calibrated", "calibrated_f1"} <= set(row)
    assert 0 <= calibration["tuned"]["reliability"]["ece"] <= 1
    assert (guard_dir / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_guard_answer_and_cli(run: RunConfig) -> None:
    from tunesmith.cli.main import app
    from tunesmith.guard import Guard, validate_output

    guard = Guard(run)
    result = guard.answer("Which port does Harbor use?", CONTEXTS[1]).to_json()
    validate_output(result)
    assert {g["gate"] for g in result["gates"]} >= {"null_score", "rejection_head", "similarity"}
    assert all(g["source"] == "calibrated" for g in result["gates"])
    config_path = Path(run.output_dir).parent / "tunesmith.yaml"
    out = CliRunner().invoke(app, ["answer", str(config_path), "-q", "Which port?",
                                   "-c", CONTEXTS[1]])
    assert out.exit_code == 0, out.output
    payload: dict[str, Any] = json.loads(out.stdout[out.stdout.index("{"):])
    validate_output(payload)
    bad = CliRunner().invoke(app, ["answer", str(config_path), "-q", "Which port?"])
    assert bad.exit_code == 1 and "exactly one of --context" in bad.output


def test_guarded_evaluation_reports_every_metric(run: RunConfig) -> None:
    from tunesmith.evaluate.guarded import evaluate_guarded

    metrics = evaluate_guarded(run, run.run_dir)
    assert set(metrics) == {"base", "tuned", "always_abstain"}
    tuned = metrics["tuned"]
    for key in ("f1", "HasAns_f1", "NoAns_f1", "best_f1", "best_f1_thresh", "abstain_precision",
                "abstain_recall", "abstain_f1", "hallucination_rate", "aurc"):
        assert key in tuned
    assert metrics["always_abstain"]["f1"] == pytest.approx(100 * 2 / 6)
    settings = {row["setting"] for row in tuned["ablation"]}
    assert {"all gates", "no gates", "without rejection_head", "only null_score"} <= settings
    assert (run.run_dir / "eval" / "predictions.jsonl").exists()
