"""A review round walked one record at a time (the Review page of ``tunesmith ui``).

The records a round reviews are those of the last build that no earlier round rejected (as
``data review export`` writes them); each decision is saved at once into the round's file,
``<data.review.dir>/<round>.jsonl``, the file ``data review import`` writes and the next
``data build`` applies. The counts are :func:`~tunesmith.data.review.review_rates`, against the
seed's expected range of each round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunesmith.data.review import (
    Decision,
    ReviewError,
    apply_edit,
    built_records,
    check_round,
    in_play,
    load_rounds,
    review_rates,
    save_decisions,
)
from tunesmith.data.schema import QARecord

Range = tuple[float, float]


@dataclass(frozen=True)
class RoundState:
    """One round as it stands: its records, this round's decision on each, every round's rate."""

    round: str
    rounds: tuple[str, ...]
    records: tuple[QARecord, ...]
    decided: Mapping[str, Decision]  # this round's decisions, by record id (records in play)
    rates: Mapping[str, Any]  # review_rates of every round with decisions

    @property
    def reviewed(self) -> int:
        return len(self.decided)

    @property
    def pending(self) -> int:
        return len(self.records) - len(self.decided)

    def index(self, record_id: str) -> int:
        for number, record in enumerate(self.records):
            if record.id == record_id:
                return number
        raise ReviewError(f"record {record_id!r} is not among the {len(self.records)} records "
                          f"round {self.round!r} reviews (rejected in an earlier round, or not "
                          "in the last build)")

    def current(self, record_id: str | None = None) -> QARecord | None:
        """The record asked for; else the first one without a decision; else the first."""
        if record_id:
            return self.records[self.index(record_id)]
        return self.next_pending(None) or (self.records[0] if self.records else None)

    def next_pending(self, after: str | None) -> QARecord | None:
        """The first record without a decision after ``after`` (wrapping round), or None."""
        start = self.index(after) + 1 if after else 0
        ordered = self.records[start:] + self.records[:start]
        return next((r for r in ordered if r.id not in self.decided), None)

    def neighbour(self, record_id: str, step: Literal[-1, 1]) -> QARecord | None:
        """The record before (``-1``) or after (``1``) ``record_id``, or None at either end."""
        number = self.index(record_id) + step
        return self.records[number] if 0 <= number < len(self.records) else None


def load_round(data_dir: Path, review_dir: Path, expected: Mapping[str, Range],
               round_name: str, split: str = "all") -> RoundState:
    """The state of ``round_name`` (one of ``expected``'s rounds, in review order)."""
    rounds = list(expected)
    check_round(round_name, rounds)
    saved = load_rounds(review_dir, rounds)
    records = in_play(built_records(data_dir, split), saved, round_name, rounds)
    ids = {r.id for r in records}
    decided = {d.id: d for d in saved.get(round_name, []) if d.id in ids}
    return RoundState(round_name, tuple(rounds), tuple(records), decided,
                      review_rates(saved, expected))


def decide_record(data_dir: Path, review_dir: Path, expected: Mapping[str, Range],
                  round_name: str, record_id: str, decision: Literal["accept", "reject"],
                  reason: str = "", reviewer: str = "",
                  edit: Mapping[str, str | None] | None = None) -> Decision:
    """Save one decision on one record (replacing an earlier one of this round); an edit
    (accepted records only) is checked against the record before it is saved."""
    state = load_round(data_dir, review_dir, expected, round_name)
    record = state.records[state.index(record_id)]
    changes: dict[str, str | None] = {}
    if edit:
        if decision != "accept":
            raise ReviewError("an edit keeps the record: save it with 'accept', not 'reject'")
        corrected = apply_edit(record, edit)  # raises when the edit cannot stand
        changes = {k: getattr(corrected, k) for k in edit
                   if getattr(corrected, k) != getattr(record, k)}  # only what changed
    made = Decision(record_id, round_name, decision, reason.strip(), reviewer.strip(), changes)
    earlier = load_rounds(review_dir, [round_name]).get(round_name, [])
    save_decisions(review_dir, round_name, [*earlier, made])
    return made
