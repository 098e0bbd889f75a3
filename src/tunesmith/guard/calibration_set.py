"""The questions thresholds are chosen on: ``guard.calibrate.dataset`` when set (hand-written
questions about documents neither trained on nor evaluated on), else the run's
``guard.calibrate.split``. The no-answer threshold (``guard.no_answer_threshold: auto``) and
``tunesmith calibrate``'s gate thresholds both read through here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunesmith.config import RunConfig
from tunesmith.data.formats.squad import read_question_file
from tunesmith.data.schema import QARecord, read_records
from tunesmith.utils.layout import RunLayout


@dataclass(frozen=True)
class CalibrationSet:
    records: list[QARecord]
    name: str  # "val", or the dataset as the config names it
    path: Path  # the file read (it may not exist for a split: then no records)


def calibration_set(config: RunConfig, layout: RunLayout) -> CalibrationSet:
    """The calibration questions (``guard.calibrate.max_examples`` applied). A split whose file
    does not exist gives no records; a named dataset that does not exist is an error."""
    c = config.guard.calibrate
    if c.dataset:
        path = config.resolve(c.dataset)
        records = read_question_file(path, "guard.calibrate.dataset")
        name = c.dataset
    else:
        path = layout.split(c.split)
        records = read_records(path) if path.exists() else []
        name = c.split
    if c.max_examples:
        records = records[: c.max_examples]
    return CalibrationSet(records, name, path)
