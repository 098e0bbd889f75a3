"""``tunesmith data version``: the built data folder under DVC, its .dvc file in git.

seed: "Use DVC (Data Version Control) with S3/GCS storage". Steps, through DVC's Python API:
``dvc init`` when no DVC repository encloses the data (at the git root, or without SCM outside
git); the remote (``data.version.remote``: a folder by default, ``s3://`` / ``gs://`` by
config) added and made the default; the data card rewritten with an update-history entry;
``dvc add`` of ``runs/<name>/data``; a git commit of only the files DVC wrote (the ``.dvc``
file, the ``.gitignore`` beside it, ``.dvc/config``); ``dvc push``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.card import write_card_for_run
from tunesmith.errors import TunesmithError
from tunesmith.utils.layout import RunLayout


class VersionError(TunesmithError):
    """DVC or git refused a step; the message says which and why."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


def git_root(path: Path) -> Path | None:
    """The enclosing git work tree, or None (not in git, or git not installed)."""
    try:
        done = _git(["rev-parse", "--show-toplevel"], path)
    except FileNotFoundError:
        return None
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 else None


def dvc_root(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def default_remote() -> Path:
    cache = os.environ.get("TUNESMITH_CACHE")
    base = Path(cache) if cache else Path.home() / ".cache" / "tunesmith"
    return base / "dvc-remote"


# DVC reaches cloud storage through one plugin package per scheme
_PLUGINS = {"s3": "dvc_s3", "gs": "dvc_gs", "gcs": "dvc_gs", "azure": "dvc_azure",
            "ssh": "dvc_ssh", "hdfs": "dvc_hdfs", "webdav": "dvc_webdav",
            "webdavs": "dvc_webdav", "http": "dvc_http", "https": "dvc_http", "oss": "dvc_oss",
            "gdrive": "dvc_gdrive"}


def remote_url(config: RunConfig) -> str:
    """The remote's URL: s3:// gs:// etc. as given (its DVC plugin must be installed); a
    folder made absolute and created."""
    remote = config.data.version.remote
    if "://" in remote:
        scheme = remote.split("://", 1)[0].lower()
        plugin = _PLUGINS.get(scheme)
        if plugin and importlib.util.find_spec(plugin) is None:
            raise VersionError(f"data.version.remote is {remote}: DVC needs the "
                               f"'{plugin.replace('_', '-')}' package for {scheme}:// remotes "
                               f"(pip install {plugin.replace('_', '-')})")
        return remote
    folder = config.resolve(remote) if remote else default_remote()
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


@contextlib.contextmanager
def _dvc_output_to_stderr() -> Any:
    """DVC logs hints ("To track the changes with git, run ...") at INFO on stdout;
    ``--json`` promises that stdout holds only the JSON, and the steps are ours to tell."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.setLevel(level)


def _commit(root: Path, paths: list[Path], message: str) -> str | None:
    """Commit exactly ``paths`` (nothing else the user staged); the new commit id or None."""
    rel = [str(p.relative_to(root)) for p in paths if p.exists()]
    added = _git(["add", "--", *rel], root)
    if added.returncode != 0:
        raise VersionError(f"git add failed: {added.stderr.strip()}")
    if _git(["diff", "--cached", "--quiet", "--", *rel], root).returncode == 0:
        return None  # nothing changed since the last version
    done = _git(["commit", "-q", "-m", message, "--", *rel], root)
    if done.returncode != 0:
        raise VersionError(f"git commit failed: {done.stderr.strip() or done.stdout.strip()} "
                           "(set data.version.git_commit: false to skip the commit)")
    return _git(["rev-parse", "HEAD"], root).stdout.strip()


def version_data(config: RunConfig, message: str | None = None,
                 console: Console | None = None) -> dict[str, Any]:
    """Version ``runs/<name>/data`` with DVC; returns what was done (paths, md5, commit)."""
    from dvc.dvcfile import FileIsGitIgnored
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    say = console.print if console else (lambda *_: None)
    settings = config.data.version
    data_dir = RunLayout.of(config).data_dir.resolve()
    if not (data_dir / "stats.json").exists():
        raise VersionError(f"{data_dir}: no built data; run `tunesmith data build` first")
    scm_root = git_root(data_dir)
    root = dvc_root(data_dir) or scm_root or Path.cwd().resolve()
    if not data_dir.is_relative_to(root):
        raise VersionError(f"{data_dir} is outside the DVC/git repository at {root}; run "
                           "from inside the project (output_dir must be under it)")
    url = remote_url(config)
    try:
        with _dvc_output_to_stderr():
            if not (root / ".dvc").is_dir():
                say(f"  version: dvc init in {root}" + ("" if scm_root else " (no git)"))
                repo = Repo.init(str(root), no_scm=scm_root is None)
            else:
                repo = Repo(str(root))
            try:
                with repo.config.edit() as conf:
                    conf["remote"][settings.remote_name] = {"url": url}
                    conf["core"]["remote"] = settings.remote_name
                write_card_for_run(config, event="version", note=message)
                say(f"  version: dvc add {data_dir}")
                stage = repo.add(str(data_dir))[0]
                md5 = str(stage.outs[0].hash_info.value)
                pushed = 0
                if settings.push:
                    say(f"  version: dvc push -r {settings.remote_name} ({url})")
                    pushed = int(repo.push(remote=settings.remote_name))
                dvc_file = Path(stage.path)
            finally:
                repo.close()
    except FileIsGitIgnored as exc:
        raise VersionError(
            f"{exc}: git ignores the run folder, so the .dvc file could not be committed. "
            f"Stop ignoring '{config.output_dir}/' in .gitignore (DVC ignores the data "
            "itself through the .gitignore it writes beside the .dvc file)") from None
    except (DvcException, ImportError) as exc:
        raise VersionError(f"dvc: {exc}") from None
    commit = None
    if scm_root is not None and settings.git_commit:
        paths = [dvc_file, dvc_file.parent / ".gitignore", root / ".dvc" / "config",
                 root / ".dvc" / ".gitignore", root / ".dvcignore"]
        commit = _commit(scm_root, paths, f"data: {config.name} version {md5[:12]}"
                         + (f"\n\n{message}" if message else ""))
    return {"data_dir": str(data_dir), "dvc_file": str(dvc_file), "md5": md5,
            "remote": url, "remote_name": settings.remote_name, "pushed_files": pushed,
            "git_commit": commit, "dvc_root": str(root)}
