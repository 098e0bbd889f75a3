"""``tunesmith eval``: score the models a run already holds, without building anything.

``tunesmith run`` brings every stage up to date: a changed data or train section retrains
before scoring. ``eval`` never does: it runs the scoring stages (the guard's calibration where
the run calibrates, then the evaluation) on the trained model as it is, and refuses when there
is none. A trained model whose settings differ from the config's now is scored all the same,
with a note that ``tunesmith run`` would retrain it.
"""

from __future__ import annotations

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.errors import TunesmithError
from tunesmith.pipeline import run as stages
from tunesmith.pipeline.manifest import Manifest
from tunesmith.pipeline.run import config_hash, run_pipeline
from tunesmith.utils.layout import RunLayout

SCORING_STAGES = ("guard", "eval")


class NothingToScoreError(TunesmithError):
    """``tunesmith eval`` on a run without a trained model."""


def score_run(config: RunConfig, force: bool = False, console: Console | None = None,
              report: bool = True) -> dict[str, str]:
    """Run the scoring stages on the run's trained model; returns {stage: 'ran' | 'skipped'}."""
    console = console or Console()
    layout = RunLayout.of(config)
    train = Manifest.read(layout.stage_dir("train"))
    if train is None:
        raise NothingToScoreError(
            f"{layout.train_dir}: no trained model in this run; `tunesmith train` (or "
            "`tunesmith run`, which also scores) trains one first")
    sections = next(s.sections for s in stages.STAGES if s.name == "train")
    if train.config_hash != config_hash(config, sections):
        console.print("[yellow]note[/yellow]: the trained model was made with other "
                      f"settings than the config's now (one or more of: {', '.join(sections)}); "
                      "scoring it as it is (`tunesmith run` retrains first)")
    return run_pipeline(config, until="eval", force=force, console=console, report=report,
                        only=SCORING_STAGES)
