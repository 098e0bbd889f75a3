"""``tunesmith run``: data -> model -> train -> eval -> report, skipping what is up to date.

Each stage declares what it depends on (config sections and input files) and what it writes;
its manifest records both. Re-running after an interruption redoes only the stages whose
manifest is missing or stale; training resumes from its last checkpoint.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.models.builtin import gguf_source
from tunesmith.pipeline.manifest import Manifest, Timer, hash_outputs
from tunesmith.registry import UnknownNameError
from tunesmith.utils.dist import barrier, is_main_process
from tunesmith.utils.hashing import sha256_file, sha256_json, sha256_tree
from tunesmith.utils.layout import RunLayout


@dataclass(frozen=True)
class Stage:
    name: str
    sections: tuple[str, ...]  # config sections whose values the stage depends on
    outputs: tuple[str, ...]  # files/folders under runs/<name>/<stage>/ that it writes
    inputs: Callable[[RunConfig, Path], dict[str, str]]
    run: Callable[[RunConfig, Path, Console], dict[str, Any]]
    # what a stage keeps to resume after an interruption; a forced re-run starts without it
    resume_state: tuple[str, ...] = ()


def _data_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    inputs = {f"source:{s.path}": sha256_tree(config.resolve(s.path))
              for s in config.data.sources if config.resolve(s.path).exists()}
    review = config.resolve(config.data.review.dir)  # reviewers' decisions change the data
    if review.is_dir():
        inputs["review"] = sha256_tree(review)
    return inputs


def _run_data(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    from tunesmith.data.build import build_dataset, require_training_records, write_dataset

    built = build_dataset(config, on_step=lambda msg: console.print(f"  data: {msg}"))
    stats = write_dataset(built, RunLayout(run_dir).data_dir, config)
    require_training_records(built, RunLayout(run_dir).data_dir)  # an empty train split stops
    console.print(f"  data: {stats['counts']} records, {stats['documents']} documents")
    return {"stats": stats}


def _model_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    source = gguf_source(config.model.name)
    if source is not None:  # a new file at the same path converts again
        return {"gguf": sha256_file(source)}
    if not config.model.is_tiny:
        return {}
    return {"data/splits.json": sha256_tree(RunLayout(run_dir).splits_json),
            **_data_inputs(config, run_dir)}


def _run_model(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    from tunesmith.data.build import load_documents
    from tunesmith.models.gguf import gguf_manifest
    from tunesmith.models.loading import resolve_base_model
    from tunesmith.utils.io import read_json

    texts: list[str] = []
    if config.model.is_tiny:
        # the built-in base pre-trains on the training documents only: the test documents
        # stay unseen, as they would be for a real base model
        train_docs = set(read_json(RunLayout(run_dir).splits_json)["train"])
        texts = [_HEADING_MARK.sub("", d.text) for d in load_documents(config).documents
                 if d.id in train_docs]
    base = resolve_base_model(config.model, texts, config.seed)
    console.print(f"  model: base model at {base}")
    local = Path(base).exists()
    details: dict[str, Any] = {"base_model": base, "requires_paths": [base] if local else []}
    gguf = gguf_manifest(config.model)  # a built-in GGUF name or a .gguf file: what it was
    if gguf is not None:
        console.print(f"  model: converted from {gguf['file']} ({gguf['quant_type']}, "
                      f"{gguf['architecture']}, sha256 {gguf['sha256'][:12]})")
        details["gguf"] = gguf
    return details


_HEADING_MARK = re.compile(r"^# ", flags=re.MULTILINE)  # markup, not text to learn


def _train_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    layout = RunLayout(run_dir)
    return {"data/train.jsonl": sha256_tree(layout.train_jsonl),
            "data/val.jsonl": sha256_tree(layout.val_jsonl),
            "base_model": layout.base_model(),
            **_plan_inputs(config, run_dir)}


def _run_train(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    from tunesmith.train.encoder import train_encoders
    from tunesmith.train.sft import train_sft
    from tunesmith.train.tracking import track_training

    if config.model.task != "causal_lm":  # encoder tasks (train/encoder.py)
        return {"task": config.model.task, "metrics": train_encoders(config, run_dir, console)}
    from tunesmith.forgetting import build_mitigations
    from tunesmith.train.multitask import build_multitask

    layout = RunLayout(run_dir)
    base = layout.base_model()
    multitask = build_multitask(config, base)  # guard.multitask_lambda > 0
    # train.forgetting: EWC's penalty, replayed general examples, the curriculum's schedule
    mitigations = build_mitigations(config, base, layout.data_dir, layout.train_dir, console)
    with track_training(config, run_dir) as tracking:  # train.report_to: mlflow
        result = train_sft(config, base, layout.data_dir, layout.train_dir, console,
                           extra_losses=[*([multitask] if multitask else []),
                                         *mitigations.extra_losses] or None,
                           extra_records=mitigations.extra_records or None,
                           callbacks=[*tracking.callbacks, *mitigations.callbacks])
        tracking.log_summary(result.metrics)
    if not is_main_process():  # a multi-process run: the main process writes the rest
        return {"metrics": result.metrics}
    if multitask is not None:
        multitask.save(layout.train_dir)  # the answerability head, beside the adapter
    for reason in result.reasons:
        console.print(f"  train: {reason}")
    m = result.metrics
    console.print(f"  train: method {config.method.name}: {m['trainable_params']:,} of "
                  f"{m['total_params']:,} parameters trained ({m['trainable_percent']:.3f}%)")
    return {"metrics": result.metrics, "resumed_from": result.resumed_from,
            "guard": train_encoders(config, run_dir, console),  # the rejection head, if on
            "method": config.method.name, "trainable_params": m["trainable_params"],
            "trainable_percent": m["trainable_percent"],
            "precision": result.hardware.precision,
            "gradient_checkpointing": result.hardware.gradient_checkpointing,
            "forgetting": mitigations.summary() if config.train.forgetting.any_enabled else None}


def _eval_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    """The evaluation set (eval.dataset when set, else the split), the models, the guard."""
    layout = RunLayout(run_dir)
    inputs = {"train/adapter": _hash_if_exists(layout.adapter),
              "base_model": layout.base_model(), **_guard_inputs(config, run_dir)}
    if is_auto(config.guard.no_answer_threshold):  # chosen on the calibration questions
        inputs.update(_calibration_inputs(config, layout))
    if layout.decision.exists():  # `tunesmith decide` ran: eval checks it against the outcome
        inputs["decide/decision.json"] = sha256_tree(layout.decision)
    if config.eval.dataset:  # hashed by _guard_inputs; the split is then not read
        return inputs
    split = layout.split(config.eval.split)
    return {f"data/{config.eval.split}.jsonl": _hash_if_exists(split), **inputs}


def _calibration_inputs(config: RunConfig, layout: RunLayout) -> dict[str, str]:
    """The file thresholds are chosen on: guard.calibrate.dataset, else the split."""
    c = config.guard.calibrate
    if c.dataset:
        return {f"guard.calibrate.dataset:{c.dataset}": _hash_if_exists(config.resolve(c.dataset))}
    return {f"data/{c.split}.jsonl": _hash_if_exists(layout.split(c.split))}


def _hash_if_exists(path: Path) -> str:
    return sha256_tree(path) if path.exists() else ""


def _guard_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    """What the guard stage and a guarded eval read besides the adapter."""
    layout = RunLayout(run_dir)
    paths = {"train/answerability": layout.answerability,
             "guard/thresholds.json": layout.thresholds}
    if config.model.task != "causal_lm":
        paths[f"train/{config.model.task}"] = layout.task_dir(config.model.task)
    if config.eval.dataset:
        paths[f"eval.dataset:{config.eval.dataset}"] = config.resolve(config.eval.dataset)
    return {k: _hash_if_exists(p) for k, p in paths.items()}


def _guard_stage_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    layout = RunLayout(run_dir)
    inputs = _guard_inputs(config, run_dir)
    del inputs["guard/thresholds.json"]
    return {**_calibration_inputs(config, layout),
            "train/adapter": _hash_if_exists(layout.adapter),
            "base_model": layout.base_model(), **inputs}


def _guard_in_run(config: RunConfig) -> bool:
    """Encoder tasks always calibrate; a causal LM when asked (generation on val costs time)."""
    return config.model.task != "causal_lm" or config.guard.calibrate.in_run


def _run_guard(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    from tunesmith.guard.stages import run_calibrate

    return {"calibration": run_calibrate(config, run_dir, console)}


def _run_eval(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    from tunesmith.evaluate.guarded import evaluate_guarded
    from tunesmith.evaluate.harness import evaluate_run

    if config.model.task != "causal_lm" or RunLayout(run_dir).thresholds.exists():
        guarded = evaluate_guarded(config, run_dir, console)  # the guard's gates applied
        for label, values in guarded.items():
            console.print(f"  eval: {label}: EM {values['exact']:.2f}  F1 {values['f1']:.2f}")
        return {"metrics": _numbers(guarded)}
    metrics = evaluate_run(config, RunLayout(run_dir), console)
    for label, values in metrics.items():
        console.print(f"  eval: {label}: EM {values['exact']:.2f}  F1 {values['f1']:.2f}  "
                      f"hallucination {values['hallucination_rate']:.1%}  false abstain "
                      f"{values['false_abstain_rate']:.1%}")
    return {"metrics": _numbers(metrics)}


def _run_eval_and_check(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    """eval, then the tuned model on the decision's questions when `tunesmith decide` ran."""
    from tunesmith.decide import check_outcome

    details = _run_eval(config, run_dir, console)
    details.update(_run_forgetting_probe(config, run_dir, console))
    outcome = check_outcome(config, run_dir, console)
    if outcome is not None:
        console.print(f"  eval: decide: the decision {outcome['verdict']}")
        details["decide"] = {k: outcome[k] for k in ("best_baseline_f1", "best_tuned_f1",
                                                     "gain_f1", "held")}
    return details


def _run_forgetting_probe(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    """eval/forgetting.json: the base's general ability the tuned model kept (causal LMs)."""
    if config.model.task != "causal_lm" or not config.eval.forgetting.enabled:
        return {}
    from tunesmith.forgetting import probe_run

    probe = probe_run(config, RunLayout(run_dir), console)
    for label, s in probe["models"].items():
        console.print(f"  eval: forgetting probe: {label}: perplexity {s['perplexity']:.2f}  "
                      f"instructions {s['instruction_following']:.1f}%  closed-book QA "
                      f"{s['closed_book_qa']:.1f}%")
    change = probe.get("change")
    if change:
        console.print(f"  eval: forgetting probe: general loss "
                      f"{change['general_loss']:+.2f} points")
    return {"forgetting": {"models": {k: {m: v for m, v in s.items() if m != "by_checker"}
                                       for k, s in probe["models"].items()},
                           "change": change}}


def _numbers(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each model's numeric metrics, for the manifest (curves and tables stay in the files)."""
    return {k: {m: v for m, v in d.items() if isinstance(v, (int, float))}
            for k, d in metrics.items()}


def _plan_inputs(config: RunConfig, run_dir: Path) -> dict[str, str]:
    """Values left at 'auto' come from the plan: a new plan section or lr-find result retrains."""
    if not config.train.planned_autos:
        return {}
    inputs = {"plan": sha256_json(config.plan.model_dump(mode="json"))}
    found = RunLayout(run_dir).lr_find_json
    if "learning_rate" in config.train.planned_autos and found.exists():
        inputs["plan/lr_find.json"] = sha256_tree(found)
    return inputs


def _run_train_planned(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    """The plan (tunesmith.plan) fills the train values left at 'auto' in a resolved copy of
    the config, which training runs with; the manifest records every planned value with its
    rule."""
    from tunesmith.errors import TunesmithError
    from tunesmith.plan.planner import plan_for_config, planned_values, resolve_plan

    autos = config.train.planned_autos
    if getattr(config.model, "task", "causal_lm") != "causal_lm":
        if autos:
            raise TunesmithError(
                f"train: {', '.join(sorted(autos))} set to 'auto', which the "
                f"planner fills for causal LMs only; model.task {config.model.task!r} needs "
                "numbers there (`tunesmith plan` shows the seed's rules for reference)")
        return _run_train(config, run_dir, console)
    try:
        plan = plan_for_config(config)
    except TunesmithError as exc:
        if autos:
            raise
        console.print(f"  train: no plan ({exc}); every train value is set")
        return _run_train(config, run_dir, console)
    for d in planned_values(config, plan):
        console.print(f"  train: {d.name} = {d.value} (plan: {d.rule})")
    details = _run_train(resolve_plan(config, plan), run_dir, console)
    details["plan"] = {d.name: {"value": d.value, "source": d.source, "rule": d.rule}
                       for d in plan.decisions}
    details["plan_memory_gib"] = round(plan.memory.peak, 3)
    return details


STAGES: tuple[Stage, ...] = (
    Stage("data", ("data", "seed"),
          ("train.jsonl", "val.jsonl", "test.jsonl", "rejected.jsonl", "stats.json",
           "splits.json", "report.html"), _data_inputs, _run_data),
    Stage("model", ("model", "seed"), (), _model_inputs, _run_model),
    Stage("train", ("model", "method", "train", "guard", "seed"), ("adapter", "metrics.jsonl"),
          _train_inputs, _run_train_planned, resume_state=("checkpoints",)),
    Stage("guard", ("model", "eval", "guard", "seed"),
          ("thresholds.json", "calibration.json", "reliability.png"),
          _guard_stage_inputs, _run_guard),
    Stage("eval", ("model", "eval", "guard"),
          ("metrics.json", "predictions.jsonl", "forgetting.json", "no_answer_threshold.json"),
          _eval_inputs, _run_eval_and_check),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def _check_question_files(config: RunConfig) -> None:
    """A question file the config names and that is not there is an error up front: found only
    at the eval stage it would cost the run's training time."""
    from tunesmith.data.formats.squad import require_question_file

    for key, value in (("eval.dataset", config.eval.dataset),
                       ("guard.calibrate.dataset", config.guard.calibrate.dataset)):
        if value:
            require_question_file(config.resolve(value), key)


def quiet_libraries() -> None:
    """tunesmith's Rich bars report progress; the libraries' own tqdm bars would interleave."""
    import datasets
    import transformers

    # deferred: imports transformers
    from tunesmith.compat.transformers import silence_peft_checkpointing_deprecation

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    silence_peft_checkpointing_deprecation()  # PEFT reads a v5-deprecated property


def config_hash(config: RunConfig, sections: tuple[str, ...]) -> str:
    """The stage's config sections, and the tunesmith version whose code will run them."""
    return sha256_json({"tunesmith": __version__,
                        **config.model_dump(mode="json", include=set(sections))})


def run_pipeline(
    config: RunConfig,
    until: str = "eval",
    force: bool | Collection[str] = False,
    console: Console | None = None,
    report: bool = True,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """Run every stage up to ``until``; returns {stage: 'ran' | 'skipped'}.

    ``force``: re-run every stage (True) or the named ones. ``only``: the stages to consider;
    the others are neither checked nor run (``tunesmith eval`` scores what the run holds). In
    a multi-process run
    (``tunesmith train --nproc``) every rank runs the stages; the main process alone writes
    the manifests and the report, after the others have finished the stage."""
    if until not in STAGE_NAMES:
        raise UnknownNameError(f"unknown stage {until!r}; stages: {', '.join(STAGE_NAMES)}")
    console = console or Console()
    quiet_libraries()
    run_dir = config.run_dir
    if until in ("guard", "eval"):
        _check_question_files(config)  # before training, not after it
    outcome: dict[str, str] = {}
    for stage in STAGES:
        if stage.name == "guard" and until != "guard" and not _guard_in_run(config):
            continue  # causal LM: `tunesmith calibrate` runs it (or guard.calibrate.in_run)
        if only is not None and stage.name not in only:
            if stage.name == until:
                break
            continue
        stage_dir = RunLayout(run_dir).stage_dir(stage.name)
        expected_hash = config_hash(config, stage.sections)
        inputs = stage.inputs(config, run_dir)
        previous = Manifest.read(stage_dir)
        forced = force if isinstance(force, bool) else stage.name in force
        if not forced and previous and previous.matches(expected_hash, inputs, stage_dir):
            console.print(f"[green]✓[/green] {stage.name}: up to date, skipped")
            outcome[stage.name] = "skipped"
        else:
            console.rule(f"[bold]{stage.name}")
            if forced and is_main_process():  # the other ranks wait in the stage (a barrier)
                for name in stage.resume_state:
                    shutil.rmtree(stage_dir / name, ignore_errors=True)
            stage_dir.mkdir(parents=True, exist_ok=True)
            with Timer() as timer:
                details = stage.run(config, run_dir, console)
            barrier()  # every rank has finished the stage before it is recorded as done
            if not is_main_process():
                outcome[stage.name] = "ran"
                if stage.name == until:
                    break
                continue
            Manifest(
                stage=stage.name, config_hash=expected_hash, inputs=inputs,
                outputs=hash_outputs(stage_dir, list(stage.outputs)), details=details,
                started=timer.started, seconds=timer.seconds,
            ).write(stage_dir)
            console.print(f"[green]✓[/green] {stage.name}: done in {timer.seconds:.1f} s")
            outcome[stage.name] = "ran"
        if stage.name == until:
            break
    if report and is_main_process():
        from tunesmith.report import write_report
        from tunesmith.train.tracking import log_run_outputs

        path = write_report(run_dir)
        console.print(f"report: {path}")
        if log_run_outputs(config, run_dir):  # train.report_to: mlflow
            console.print("mlflow: evaluation metrics and report logged")
    return outcome
