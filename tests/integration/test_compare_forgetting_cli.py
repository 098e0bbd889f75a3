"""`tunesmith compare CONFIG --forgetting` end to end on a tiny config: every variant a row
(trained in its own process, probed), the table, the plot and the run report's section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # six worker processes: about 3 minutes on 2 cores

DOC = """# Component {i}

The broker {i} listens on port 74{i}{i} by default. The default retention period for tier {i}
is {i} days. Version {i}.2 was released in March 20{i}{i}, and it added tiered storage.
"""

CONFIG = """\
schema_version: 1
name: fg
output_dir: {out}
model:
  tiny: {{hidden_size: 32, layers: 2, heads: 2, vocab_size: 400, pretrain_minutes: 0.2,
          pretrain_max_steps: 10, pretrain_batch_size: 4, pretrain_seq_len: 64}}
  cache_dir: {cache}
data:
  sources: [{{path: docs}}]
  split: {{val: 0.2, test: 0.2}}
train: {{batch_size: 2, max_length: 256, forgetting: {{ewc: {{fisher_texts: 2}}}}}}
eval: {{max_new_tokens: 4, forgetting: {{max_items: 2, max_new_tokens: 8, qa_max_new_tokens: 4}}}}
"""


def test_compare_forgetting_writes_the_table_the_plot_and_the_report(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(1, 7):
        (docs / f"d{i}.md").write_text(DOC.format(i=i), encoding="utf-8")
    config = tmp_path / "tunesmith.yaml"
    config.write_text(CONFIG.format(out=tmp_path / "runs", cache=tmp_path / "cache"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "tunesmith", "compare", str(config),
                           "--forgetting", "--max-steps", "2", "--json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["method"]: r for r in json.loads(done.stdout)["rows"]}
    assert list(rows) == ["base", "lora", "lora+ewc", "lora+replay", "lora+curriculum", "full"]
    for name in ("base", "lora", "lora+ewc", "lora+curriculum", "full"):
        assert rows[name]["status"] == "ok", rows[name].get("error")
        assert rows[name]["perplexity"] > 1 and "instruction_following" in rows[name]
    assert rows["lora+ewc"]["forgetting"]["ewc"]["last_penalty"] is not None
    assert rows["lora+curriculum"]["forgetting"]["curriculum"]["final_weight"] == \
        pytest.approx(0.1)
    # the tiny model never ends a reply within replay.max_new_tokens: the row says so, the
    # others go on
    replay = rows["lora+replay"]
    assert replay["status"] == "ok" or "replay.max_new_tokens" in replay["error"]
    compare = tmp_path / "runs" / "fg" / "compare"
    assert "| lora+ewc | lora | ewc |" in (compare / "forgetting.md").read_text()
    assert (compare / "forgetting.png").stat().st_size > 1000
    assert (compare / "forgetting" / "lora+ewc" / "forgetting.json").is_file()

    report = subprocess.run([sys.executable, "-m", "tunesmith", "report", str(config)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "runs" / "fg" / "report.html").read_text()
    assert "Mitigations compared" in html and "lora+curriculum" in html
