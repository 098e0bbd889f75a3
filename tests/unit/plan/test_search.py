"""The search: TPE with pruning through the real code path, a kill and a resume."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import yaml

from tunesmith.config import parse_config
from tunesmith.config.plan import SearchParam
from tunesmith.plan.search import (
    applicable_space,
    best_yaml,
    run_study,
    summarise,
    trial_config,
)

SPACE = {"train.learning_rate": SearchParam(low=1e-5, high=1e-1, log=True),
         "train.batch_size": SearchParam(choices=[4, 8, 16])}


def objective(trial: optuna.Trial, params: dict[str, object]) -> float:
    """Best near lr 1e-3: a cheap stand-in for training, with one intermediate per epoch."""
    import math

    value = 0.0
    for epoch in range(3):
        value = (math.log10(float(params["train.learning_rate"])) + 3) ** 2 + 1 / (epoch + 1)
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def test_three_trials_best_and_importances(tmp_path: Path) -> None:
    study = run_study(tmp_path / "s.db", "t", SPACE, objective, trials=3, seed=0)
    result = summarise(study)
    assert result["finished"] == 3 and result["best"] is not None
    assert set(result["best"]["params"]) == set(SPACE)
    assert result["importances"] == {} or set(result["importances"]) <= set(SPACE)


WORKER = """
import sys, time, optuna
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_search import SPACE, objective
from tunesmith.plan.search import run_study

def slow(trial, params):
    time.sleep(0.4)
    return objective(trial, params)

run_study(Path({db!r}), "t", SPACE, slow, trials=6, seed=0, pruner="none")
"""


def test_killed_search_resumes_and_finishes(tmp_path: Path) -> None:
    db = tmp_path / "search.db"
    code = WORKER.format(tests=str(Path(__file__).parent), db=str(db))
    proc = subprocess.Popen([sys.executable, "-c", code])
    url = f"sqlite:///{db.resolve()}"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 2 and proc.poll() is None:
        time.sleep(0.3)
        try:
            study = optuna.load_study(study_name="t", storage=url)
            done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        except (KeyError, Exception):  # the study is not created yet
            continue
    proc.kill()
    proc.wait()
    assert 2 <= done < 6
    study = run_study(db, "t", SPACE, objective, trials=6, seed=0, pruner="none")
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 6
    assert optuna.trial.TrialState.RUNNING not in states


CONFIG = """
name: search-test
data: {sources: [{path: corpus}]}
method: {name: ia3}
train: {learning_rate: 0.001}
"""


def test_space_trial_config_and_best_yaml(tmp_path: Path) -> None:
    path = tmp_path / "tunesmith.yaml"
    path.write_text(CONFIG)
    config = parse_config(CONFIG, path)
    space = applicable_space(config)
    assert "method.r" not in space and "train.learning_rate" in space  # IA3 has no rank
    trial = trial_config(config, {"train.learning_rate": 0.01, "train.batch_size": 4})
    assert trial.train.learning_rate == 0.01 and trial.train.batch_size == 4
    text = best_yaml(path, {"train.learning_rate": 0.02}, ["train.epochs=2"])
    raw = yaml.safe_load(text)
    assert raw["train"] == {"learning_rate": 0.02, "epochs": 2}
    assert parse_config(text, path).method.name == "ia3"
