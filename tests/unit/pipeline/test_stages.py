"""Stage skipping and manifests: a stage whose config sections, inputs and outputs are unchanged
is skipped; a change to any of them, or a forced stage, runs it again; a later stage runs when
an earlier one did and changed its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.pipeline import run as pipeline
from tunesmith.pipeline.manifest import Manifest, hash_outputs
from tunesmith.utils.layout import RunLayout

QUIET = Console(file=None, quiet=True)


def _config(tmp_path: Path, **overrides: Any) -> RunConfig:
    raw: dict[str, Any] = {"name": "x", "model": {"name": "tiny"},
                           "data": {"sources": [{"path": "docs"}]}, "output_dir": str(tmp_path)}
    raw.update(overrides)
    return RunConfig.model_validate(raw)


@pytest.fixture
def two_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A data stage that writes out.txt from an input file, and a train stage that reads it."""
    ran: list[str] = []
    source = tmp_path / "input.txt"
    source.write_text("one")

    def data(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
        ran.append("data")
        (RunLayout(run_dir).stage_dir("data") / "out.txt").write_text(source.read_text())
        return {}

    def train(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
        ran.append("train")
        (RunLayout(run_dir).stage_dir("train") / "adapter").write_text("weights")
        return {}

    def train_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
        out = RunLayout(run_dir).stage_dir("data") / "out.txt"
        return {"data/out.txt": out.read_text() if out.exists() else ""}

    stages = (
        pipeline.Stage("data", ("data", "seed"), ("out.txt",),
                       lambda config, run_dir: {"input": source.read_text()}, data),
        pipeline.Stage("train", ("train", "seed"), ("adapter",), train_inputs, train),
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)
    monkeypatch.setattr(pipeline, "STAGE_NAMES", ("data", "train"))
    return ran


def test_an_unchanged_run_is_skipped_stage_by_stage(tmp_path: Path, two_stages: list[str]
                                                    ) -> None:
    config = _config(tmp_path)
    first = pipeline.run_pipeline(config, until="train", console=QUIET, report=False)
    second = pipeline.run_pipeline(config, until="train", console=QUIET, report=False)
    assert first == {"data": "ran", "train": "ran"}
    assert second == {"data": "skipped", "train": "skipped"}
    assert two_stages == ["data", "train"]


def test_a_changed_input_reruns_its_stage_and_the_ones_that_read_its_output(
        tmp_path: Path, two_stages: list[str]) -> None:
    config = _config(tmp_path)
    pipeline.run_pipeline(config, until="train", console=QUIET, report=False)
    (tmp_path / "input.txt").write_text("two")
    outcome = pipeline.run_pipeline(config, until="train", console=QUIET, report=False)
    assert outcome == {"data": "ran", "train": "ran"}


def test_a_changed_config_section_reruns_only_the_stages_that_read_it(
        tmp_path: Path, two_stages: list[str]) -> None:
    pipeline.run_pipeline(_config(tmp_path), until="train", console=QUIET, report=False)
    changed = _config(tmp_path, train={"epochs": 7})
    outcome = pipeline.run_pipeline(changed, until="train", console=QUIET, report=False)
    assert outcome == {"data": "skipped", "train": "ran"}


def test_a_deleted_or_edited_output_and_force_rerun_the_stage(tmp_path: Path,
                                                              two_stages: list[str]) -> None:
    config = _config(tmp_path)
    pipeline.run_pipeline(config, until="train", console=QUIET, report=False)
    (RunLayout.of(config).stage_dir("train") / "adapter").write_text("tampered")
    assert pipeline.run_pipeline(config, until="train", console=QUIET,
                                 report=False)["train"] == "ran"
    assert pipeline.run_pipeline(config, until="train", force=("data",), console=QUIET,
                                 report=False) == {"data": "ran", "train": "skipped"}
    assert pipeline.run_pipeline(config, until="data", force=True, console=QUIET,
                                 report=False) == {"data": "ran"}


def test_the_manifest_records_what_the_stage_was_given_and_made(tmp_path: Path,
                                                                two_stages: list[str]) -> None:
    config = _config(tmp_path)
    pipeline.run_pipeline(config, until="data", console=QUIET, report=False)
    stage_dir = RunLayout.of(config).stage_dir("data")
    manifest = Manifest.read(stage_dir)
    assert manifest is not None and manifest.stage == "data"
    assert manifest.inputs == {"input": "one"}
    assert manifest.outputs == hash_outputs(stage_dir, ["out.txt"])
    assert manifest.config_hash == pipeline.config_hash(config, ("data", "seed"))
    assert {"tunesmith", "python", "torch"} <= set(manifest.versions)
    assert manifest.seconds >= 0 and manifest.started


def test_a_manifest_that_cannot_be_read_is_no_manifest(tmp_path: Path) -> None:
    assert Manifest.read(tmp_path) is None
    (tmp_path / "manifest.json").write_text("{not json")
    assert Manifest.read(tmp_path) is None
    (tmp_path / "manifest.json").write_text('{"unknown": 1}')
    assert Manifest.read(tmp_path) is None


def test_a_required_path_that_is_gone_makes_the_manifest_stale(tmp_path: Path) -> None:
    cached = tmp_path / "model"
    cached.mkdir()
    manifest = Manifest("model", "h", {}, details={"requires_paths": [str(cached)]})
    assert manifest.matches("h", {}, tmp_path)
    cached.rmdir()
    assert not manifest.matches("h", {}, tmp_path)


@pytest.mark.parametrize("key", ["eval.dataset", "guard.calibrate.dataset"])
def test_a_missing_question_file_fails_before_any_stage_runs(tmp_path: Path, key: str) -> None:
    from tunesmith.errors import TunesmithError

    section, *rest = key.split(".")
    value: dict[str, Any] = {rest[-1]: "nowhere.json"}
    if len(rest) == 2:
        value = {rest[0]: value}
    config = _config(tmp_path, **{section: value})
    with pytest.raises(TunesmithError, match=f"{key}: .*nowhere.json does not exist"):
        pipeline.run_pipeline(config, console=QUIET)
    assert not config.run_dir.exists()  # not even the data stage ran
