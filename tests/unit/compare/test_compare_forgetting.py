"""compare --forgetting's bookkeeping: the variants and their switches, task gain against
general loss, the best mitigation by the issue's rule, the outputs; the run report shows them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tunesmith.compare.forgetting import (
    add_forgetting_columns,
    best_mitigation,
    forgetting_variants,
    write_forgetting_outputs,
)
from tunesmith.config import load_config
from tunesmith.report.html import render_report

CONFIG = "name: demo\ndata:\n  sources:\n    - {path: docs/}\nmethod:\n  name: lora\n"


def _probe(ppl: float, ifeval: float, qa: float) -> dict[str, float]:
    return {"perplexity": ppl, "instruction_following": ifeval, "closed_book_qa": qa}


def _rows() -> list[dict[str, Any]]:
    ok = {"status": "ok"}
    return [
        {"method": "base", "base_method": "base", "f1": 10.0, **_probe(20, 40, 60), **ok},
        {"method": "lora", "base_method": "lora", "mitigation": "none", "configured": True,
         "f1": 50.0, **_probe(26, 10, 45), **ok},
        {"method": "lora+ewc", "base_method": "lora", "mitigation": "ewc", "configured": True,
         "f1": 48.0, **_probe(22, 30, 57), **ok},
        {"method": "lora+replay", "base_method": "lora", "mitigation": "replay",
         "configured": True, "f1": 40.0, **_probe(20, 40, 60), **ok},
        {"method": "lora+curriculum", "status": "error", "error": "RuntimeError: boom | x"},
        {"method": "full", "base_method": "full", "mitigation": "none", "configured": False,
         "f1": 55.0, **_probe(40, 0, 20), **ok},
    ]


def test_variants_switch_one_mitigation_each(tmp_path: Path) -> None:
    variants = forgetting_variants("lora")
    assert [v.label for v in variants] == ["lora", "lora+ewc", "lora+replay", "lora+curriculum",
                                           "full"]
    path = tmp_path / "t.yaml"
    # on: every mitigation, so that "none" must switch each one off
    path.write_text(CONFIG + "train:\n  forgetting:\n    ewc: {enabled: true}\n"
                    "    replay: {enabled: true}\n    curriculum: {enabled: true}\n")
    for v in variants:  # every switch lands in a valid config, only the named one on
        config = load_config(path, v.overrides)
        f = config.train.forgetting
        assert f.ewc.enabled == (v.mitigation in ("ewc", "curriculum"))
        assert f.replay.enabled == (v.mitigation == "replay")
        assert f.curriculum.enabled == (v.mitigation == "curriculum")
    assert [v.label for v in forgetting_variants("full")][-1] == "lora"
    assert [v.label for v in forgetting_variants("lora", ["ia3", "full"])][-2:] == ["ia3", "full"]


def test_task_gain_general_loss_and_the_best_mitigation() -> None:
    rows = _rows()
    add_forgetting_columns(rows)
    by = {r["method"]: r for r in rows}
    assert by["lora"]["task_gain"] == 40.0 and by["lora"]["gain_kept_percent"] == 100.0
    # drops 30 and 15 points, perplexity +30%: mean 25
    assert by["lora"]["general_loss"] == 25.0
    assert by["lora+ewc"]["gain_kept_percent"] == 95.0
    assert by["lora+replay"]["general_loss"] == 0.0 and by["lora+replay"]["task_gain"] == 30.0
    # replay forgets nothing but keeps only 75% of the gain; EWC keeps 95%: the best
    best = best_mitigation(rows)
    assert best is not None and best["method"] == "lora+ewc"
    assert "task_gain" not in by["lora+curriculum"]


def test_outputs_and_the_run_report(tmp_path: Path) -> None:
    rows = _rows()
    add_forgetting_columns(rows)
    out = tmp_path / "compare"
    out.mkdir()
    write_forgetting_outputs(rows, {"run": "demo", "budget": "Same budget: 3 steps",
                                    "probe": "Probe: 3 passages"}, out)
    saved = json.loads((out / "forgetting.json").read_text())
    assert saved["best"] == "lora+ewc" and len(saved["rows"]) == 6
    markdown = (out / "forgetting.md").read_text()
    assert "| lora+ewc | lora | ewc | 48.00 | 38.00 | 95 |" in markdown
    assert "Best mitigation: **lora+ewc**" in markdown and "(less)" in markdown
    assert "error: RuntimeError: boom \\| x" in markdown
    assert (out / "forgetting.png").stat().st_size > 1000
    html = render_report(tmp_path)  # tmp_path as the run folder: compare/forgetting.json
    assert "Mitigations compared" in html and "lora+replay" in html
    assert "data:image/png;base64," in html


def test_a_worker_row_with_a_mitigation_and_the_probe(tiny_lm: str, tmp_path: Path) -> None:
    from tunesmith.compare.worker import main
    from tunesmith.data.schema import QARecord, write_records

    fact = "The broker listens on port 7420 by default."
    records = [QARecord(id=f"r{i}", question=f"Which port, {i}?", contexts=[fact],
                        answer="7420") for i in range(4)]
    data = tmp_path / "run" / "data"
    for split in ("train", "val", "test"):
        write_records(data / f"{split}.jsonl", records)
    config = tmp_path / "t.yaml"
    config.write_text(CONFIG + "train: {batch_size: 2, max_length: 256}\n")
    out = tmp_path / "out"
    code = main([str(config), "lora", str(out), "--base-model", tiny_lm, "--data", str(data),
                 "--max-steps", "2", "--label", "lora+ewc", "--forgetting",
                 "--set", "train.forgetting.ewc.enabled=true",
                 "--set", "train.forgetting.ewc.fisher_texts=2",
                 "--set", "eval.forgetting.max_items=2", "--set", "eval.max_new_tokens=4",
                 "--set", "eval.forgetting.max_new_tokens=8",
                 "--set", "eval.forgetting.qa_max_new_tokens=4"])
    assert code == 0
    row = json.loads((out / "result.json").read_text())
    assert row["status"] == "ok", row.get("error")
    assert (row["method"], row["base_method"], row["mitigation"]) == ("lora+ewc", "lora", "ewc")
    assert row["configured"] is True and row["forgetting"]["ewc"]["parameters_pulled"] > 0
    assert row["perplexity"] > 1 and 0 <= row["instruction_following"] <= 100
    probe = json.loads((out / "forgetting.json").read_text())
    assert len(probe["items"]) == 4 and "lora" in probe["models"]
