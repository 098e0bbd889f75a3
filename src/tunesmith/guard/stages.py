"""The guard stage: thresholds calibrated on validation data, and the reader of them.

``pipeline/run.py`` runs :func:`run_calibrate` as the ``guard`` stage, between ``train`` and
``eval``; the encoders the guard uses are trained by the train stage
(:func:`tunesmith.train.encoder.train_encoders`), the guarded scores are
:mod:`tunesmith.evaluate.guarded`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.data.schema import QARecord
from tunesmith.errors import TunesmithError
from tunesmith.guard.calibrate import calibrate, default_gates
from tunesmith.guard.calibration_set import CalibrationSet, calibration_set
from tunesmith.guard.decide import ThresholdSource
from tunesmith.metrics.squad_v2 import SquadExample
from tunesmith.utils.io import atomic_open, read_json, write_json_atomic
from tunesmith.utils.layout import RunLayout


def _calibration_set(config: RunConfig, run_dir: Path) -> CalibrationSet:
    chosen_on = calibration_set(config, RunLayout(run_dir))
    if not chosen_on.records:
        raise TunesmithError(f"{chosen_on.path}: no records to calibrate on; give the split a "
                             "share (data.split.val), or set guard.calibrate.split or "
                             "guard.calibrate.dataset")
    return chosen_on


def examples_of(records: list[QARecord]) -> list[SquadExample]:
    return [SquadExample(r.id, r.references) for r in records]


def _models_to_score(config: RunConfig) -> list[str]:
    return list(config.eval.compare)


def run_calibrate(config: RunConfig, run_dir: Path, console: Console) -> dict[str, Any]:
    """Choose thresholds on validation for every model scored later; write guard/*.json."""
    # deferred: importing these loads safetensors, torch, transformers
    from tunesmith.guard.signals import SimilarityModel, compute_signals, load_rejection_head
    from tunesmith.inference import load_predictor

    c = config.guard.calibrate
    calibration = _calibration_set(config, run_dir)
    records, chosen_on = calibration.records, calibration.name
    examples = examples_of(records)
    similarity = SimilarityModel(config.guard.encoder_model)
    head = load_rejection_head(run_dir)
    out: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    for label in _models_to_score(config):
        predictor = load_predictor(config, run_dir, label)
        rejection = head if label == "tuned" else None
        gates = config.guard.gates or default_gates(config.model.task, rejection is not None)
        signals = compute_signals(config, predictor, [r.question for r in records],
                                  [r.context for r in records], rejection, similarity, console)
        result = calibrate(examples, signals, gates, config.guard)
        thresholds[label] = {"gates": gates, "thresholds": result.thresholds}
        out[label] = result.to_json()
        console.print(f"  guard ({label}): F1 on {chosen_on} {result.summary['f1_calibrated']:.2f} "
                      f"calibrated vs {result.summary['f1_all_seed_defaults']:.2f} with the "
                      f"seed defaults ({len(records)} questions)")
    layout = RunLayout(run_dir)
    write_json_atomic(layout.thresholds, {
        "split": chosen_on, "objective": c.objective, "task": config.model.task, **thresholds})
    write_json_atomic(layout.calibration, out)
    _reliability_png(out, layout.reliability_png)
    return {label: {"f1_calibrated": v["f1_calibrated"],
                    "f1_all_seed_defaults": v["f1_all_seed_defaults"],
                    "ece": v["reliability"]["ece"]} for label, v in out.items()}


def _reliability_png(calibration: dict[str, Any], path: Path) -> None:
    from tunesmith.report.plots import reliability_png  # deferred: imports matplotlib

    png = reliability_png({k: v["reliability"] for k, v in calibration.items()})
    if png is not None:
        with atomic_open(path, "wb") as f:
            f.write(png)


def load_thresholds(run_dir: Path, label: str) -> tuple[list[str], dict[str, float]] | None:
    path = RunLayout(run_dir).thresholds
    if not path.exists():
        return None
    data = read_json(path)
    if label not in data:
        return None
    return list(data[label]["gates"]), dict(data[label]["thresholds"])


@dataclass(frozen=True)
class GateSettings:
    """The gates inference applies for one model, each threshold with where it came from."""

    gates: list[str]
    thresholds: dict[str, float]
    sources: dict[str, ThresholdSource]
    calibrated: bool  # the gates and thresholds `tunesmith calibrate` saved


def gate_settings(config: RunConfig, run_dir: Path, label: str,
                  no_answer_threshold: float | None, trained_head: bool) -> GateSettings:
    """The gates and thresholds for ``label``: those ``tunesmith calibrate`` saved, else the
    default gates (or ``guard.gates``) at their seed thresholds. With
    ``guard.no_answer_threshold: auto``, ``no_answer_threshold`` (the one eval chose,
    ``Predictor.no_answer_threshold``) is the ``no_answer_prob`` gate's threshold unless
    calibration saved one, so that the gate does not abstain on answers the decoding rule chose
    to give (its seed default, 0.5, would). ``guard.thresholds`` override every source."""
    saved = load_thresholds(run_dir, label)
    if saved is None:
        gates = config.guard.gates or default_gates(config.model.task, trained_head)
        thresholds: dict[str, float] = {}
    else:
        gates, thresholds = saved
    if is_auto(config.guard.no_answer_threshold) and no_answer_threshold is not None:
        thresholds = {"no_answer_prob": no_answer_threshold, **thresholds}
    sources: dict[str, ThresholdSource] = dict.fromkeys(thresholds, "calibrated")
    for name, value in config.guard.thresholds.items():
        thresholds[name] = value
        sources[name] = "config"
    return GateSettings(list(gates), thresholds, sources, saved is not None)
