"""``tunesmith search``: Optuna's TPE sampler over a declared space, pruning on each epoch's
validation loss, stored in SQLite so that a killed search resumes where it stopped.

Resuming: the study is loaded from ``runs/<name>/plan/search.db``; trials a killed process left
``RUNNING`` are marked failed and their parameters queued again, and only the trials still
missing from the total are run. The best trial's values are written back into a copy of the
user's YAML (``plan/best.yaml``), and fANOVA parameter importances into ``plan/search.json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import yaml
from rich.console import Console

from tunesmith.config import RunConfig, apply_overrides
from tunesmith.config import RunConfig as Run
from tunesmith.config.auto import or_default
from tunesmith.config.plan import SearchParam
from tunesmith.data.schema import read_records
from tunesmith.errors import TunesmithError
from tunesmith.utils.io import write_json_atomic, write_text_atomic
from tunesmith.utils.layout import RunLayout

Objective = Callable[[optuna.Trial, dict[str, Any]], float]


def sample(trial: optuna.Trial, space: dict[str, SearchParam]) -> dict[str, Any]:
    """One value per dimension, named by its dotted config key."""
    params: dict[str, Any] = {}
    for key, p in space.items():
        if p.choices is not None:
            params[key] = trial.suggest_categorical(key, p.choices)
        elif p.integer:
            params[key] = trial.suggest_int(key, int(p.low or 0), int(p.high or 0), log=p.log)
        else:
            params[key] = trial.suggest_float(key, float(p.low or 0), float(p.high or 0),
                                              log=p.log)
    return params


def open_study(storage: Path, name: str, seed: int, pruner: str) -> optuna.Study:
    storage.parent.mkdir(parents=True, exist_ok=True)
    return optuna.create_study(
        study_name=name, storage=f"sqlite:///{storage.resolve()}", load_if_exists=True,
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=(optuna.pruners.MedianPruner(n_startup_trials=2) if pruner == "median"
                else optuna.pruners.NopPruner()))


def _finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return [t for t in study.get_trials(deepcopy=False) if t.state in done]


def recover_interrupted(study: optuna.Study) -> int:
    """Trials left RUNNING by a killed process: mark them failed, queue their params again."""
    stale = [t for t in study.get_trials(deepcopy=False)
             if t.state == optuna.trial.TrialState.RUNNING]
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params, skip_if_exists=False)
    return len(stale)


def run_study(storage: Path, name: str, space: dict[str, SearchParam], objective: Objective,
              trials: int, seed: int = 0, pruner: str = "median",
              on_trial: Callable[[int, int], None] | None = None) -> optuna.Study:
    """Run until ``trials`` trials have finished (completed or pruned), resuming a stored study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(storage, name, seed, pruner)
    recover_interrupted(study)
    remaining = trials - len(_finished(study))

    def wrapped(trial: optuna.Trial) -> float:
        return objective(trial, sample(trial, space))

    while remaining > 0:
        study.optimize(wrapped, n_trials=1, catch=())
        remaining = trials - len(_finished(study))
        if on_trial:
            on_trial(len(_finished(study)), trials)
    return study


def importances(study: optuna.Study) -> dict[str, float]:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2 or not complete[0].params:
        return {}
    try:
        return {k: float(v) for k, v in
                optuna.importance.get_param_importances(study).items()}
    except (RuntimeError, ValueError):  # e.g. every trial gave the same value
        return {}


def best_yaml(config_path: Path, best: dict[str, Any], overrides: list[str]) -> str:
    """The user's YAML with the command-line overrides and the best values set."""
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    raw = apply_overrides(raw, overrides)
    raw = apply_overrides(raw, [f"{k}={json_scalar(v)}" for k, v in best.items()])
    header = (f"# best configuration found by `tunesmith search` (written from {config_path});\n"
              "# only the searched keys differ from the original\n")
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def json_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def applicable_space(config: RunConfig) -> dict[str, SearchParam]:
    """Drop method keys the configured method does not have (rank for IA3, say)."""
    fields = set(type(config.method.options).model_fields)
    space = {}
    for key, p in config.plan.search.space.items():
        section, _, name = key.partition(".")
        if section == "method" and name not in fields:
            continue
        space[key] = p
    if not space:
        raise TunesmithError("plan.search.space: no key applies to this configuration")
    return space


def trial_config(config: RunConfig, params: dict[str, Any]) -> RunConfig:
    """The config with the trial's values set (validated like any config)."""
    raw = config.model_dump(mode="json")
    raw = apply_overrides(raw, [f"{k}={json_scalar(v)}" for k, v in params.items()])
    trial = Run.model_validate(raw)
    trial._base_dir = config.base_dir
    return trial


def training_objective(config: RunConfig, base_model: str) -> Objective:
    """Train a fresh copy of the base with the trial's values; report the validation loss
    after each epoch (the pruner's intermediate values); return the last one."""
    import torch

    # deferred: importing these loads torch, transformers
    from tunesmith.models.loading import load_causal_lm, load_tokenizer
    from tunesmith.plan.steps import Stepper, batches, eval_loss, prepare_model, tokenize_records

    sc = config.plan.search
    tokenizer = load_tokenizer(base_model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    layout = RunLayout.of(config)
    train_records = read_records(layout.train_jsonl)[: sc.max_train_examples]
    val_records = read_records(layout.val_jsonl)
    if not val_records:
        raise TunesmithError(f"{layout.val_jsonl}: the search needs a validation split")
    max_len = config.train.max_length
    train_ex = tokenize_records(train_records, config, tokenizer, max_len)
    val_ex = tokenize_records(val_records, config, tokenizer, max_len)

    def objective(trial: optuna.Trial, params: dict[str, Any]) -> float:
        cfg = trial_config(config, params)
        t = cfg.train
        # the search runs before the plan: a key left at 'auto' takes its default here
        batch_size: int = or_default(t, "batch_size")
        torch.manual_seed(cfg.seed)
        steps_per_epoch = math.ceil(len(train_ex) / batch_size)
        if sc.max_steps_per_epoch:
            steps_per_epoch = min(steps_per_epoch, sc.max_steps_per_epoch)
        model, method = prepare_model(load_causal_lm(base_model), cfg.method.name,
                                      cfg.method.options, total_steps=steps_per_epoch * sc.epochs,
                                      tokenizer_path=base_model)
        stepper = Stepper(model, method, or_default(t, "learning_rate"),
                          weight_decay=or_default(t, "weight_decay"),
                          max_grad_norm=t.max_grad_norm)
        value = math.inf
        for epoch in range(sc.epochs):
            for i, batch in enumerate(batches(train_ex, batch_size, pad, cfg.seed + epoch)):
                if i >= steps_per_epoch:
                    break
                loss = stepper.step(batch)
                if not math.isfinite(loss):
                    raise optuna.TrialPruned(f"the training loss diverged at epoch {epoch}")
            value = eval_loss(model, val_ex, batch_size, pad)
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    return objective


def run_search(config: RunConfig, config_path: Path, base_model: str, trials: int,
               console: Console | None = None, overrides: list[str] | None = None
               ) -> dict[str, Any]:
    from rich.progress import Progress

    out = RunLayout.of(config).plan_dir
    storage = out / "search.db"
    name = f"{config.name}-search"
    space = applicable_space(config)
    already = 0
    if storage.exists():
        already = len(_finished(open_study(storage, name, config.seed,
                                           config.plan.search.pruner)))
        if console is not None and already:
            console.print(f"resuming: {already} of {trials} trials already finished")
    objective = training_objective(config, base_model)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("search", total=trials, completed=min(already, trials))
        study = run_study(storage, name, space, objective, trials, config.seed,
                          config.plan.search.pruner,
                          on_trial=lambda done, total: progress.update(task, completed=done))
    result = summarise(study, already)
    if result["best"] is not None:
        path = out / "best.yaml"
        write_text_atomic(path, best_yaml(config_path, result["best"]["params"],
                                          overrides or []))
        result["best_yaml"] = str(path)
    write_json_atomic(out / "search.json", result)
    return result


def summarise(study: optuna.Study, resumed_from: int = 0) -> dict[str, Any]:
    rows = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
             "intermediate": dict(t.intermediate_values)} for t in study.trials]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value or math.inf) if complete else None
    return {
        "finished": len(_finished(study)),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        "failed": sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials),
        "resumed_from": resumed_from,
        "trials": rows,
        "best": {"number": best.number, "value": best.value, "params": best.params}
        if best else None,
        "importances": importances(study),
    }
