"""``tunesmith data version`` with DVC in a fresh git repository, and outside git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_card import make_run  # the same hand-made run
from typer.testing import CliRunner

from tunesmith.cli.main import app
from tunesmith.config import load_config
from tunesmith.data.card import read_history
from tunesmith.data.version import VersionError, version_data

runner = CliRunner()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A committer for the throwaway repository, without touching any git config."""
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "tunesmith tests")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "tests@example.invalid")


def test_version_in_a_fresh_git_repository(tmp_path: Path, identity: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    make_run(repo, extra="  version: {remote: ../remote}\n")
    # output_dir is absolute inside the repo (make_run), as 'runs' relative to it would be
    done = runner.invoke(app, ["data", "version", str(repo / "tunesmith.yaml"), "--json",
                               "-m", "first cut"])
    assert done.exit_code == 0, done.output
    first = json.loads(done.stdout)  # stdout holds only the JSON: DVC's hints went to stderr
    assert first["remote"] == str((tmp_path / "remote").resolve())
    assert Path(first["dvc_file"]) == repo / "runs" / "demo" / "data.dvc"
    assert first["pushed_files"] > 0 and any((tmp_path / "remote").rglob("*"))
    tracked = git(repo, "show", "--name-only", "--format=%s", "HEAD").split()
    assert "runs/demo/data.dvc" in tracked and ".dvc/config" in tracked
    assert "runs/demo/data/train.jsonl" not in git(repo, "ls-files")  # DVC holds the data
    assert "/data" in (repo / "runs" / "demo" / ".gitignore").read_text()
    assert "remote" in (repo / ".dvc" / "config").read_text()

    make_run(repo, n_train=4, extra="  version: {remote: ../remote}\n")  # the data changes
    second = version_data(load_config(repo / "tunesmith.yaml", []))
    assert second["md5"] != first["md5"] and second["git_commit"] != first["git_commit"]
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    history = read_history(repo / "runs" / "demo" / "data")
    assert [(h["event"], h["records"], h["note"]) for h in history] == [
        ("version", 5, "first cut"), ("version", 6, "")]
    assert "first cut" in (repo / "runs" / "demo" / "data" / "README.md").read_text()


def test_version_without_git_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no enclosing repository
    config = make_run(tmp_path)
    result = version_data(config)
    assert result["git_commit"] is None and (tmp_path / ".dvc").is_dir()
    assert result["remote"] == str(tmp_path / "cache" / "dvc-remote")
    (config.run_dir / "data" / "stats.json").unlink()
    with pytest.raises(VersionError, match="no built data"):
        version_data(config)


def test_a_cloud_remote_without_its_plugin_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    config = make_run(tmp_path, extra="  version: {remote: 's3://bucket/prefix'}\n")
    if importlib.util.find_spec("dvc_s3") is not None:
        pytest.skip("dvc-s3 is installed")
    with pytest.raises(VersionError, match=r"needs the 'dvc-s3' package"):
        version_data(config)
    assert not (tmp_path / ".dvc").exists()  # nothing was changed before the error
