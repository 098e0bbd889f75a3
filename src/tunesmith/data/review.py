"""Human review rounds (seed: Round 1 answer correctness 20-30% rejected, Round 2 context
relevance 10-15%, Adjudication by an expert 5-10%).

A round goes: ``export_review`` writes the records still in play (those no earlier round
rejected) as CSV or as JSON that Label Studio and Argilla import; reviewers mark each record
``accept`` or ``reject`` (with a reason); ``import_decisions`` reads their CSV or Label Studio's
JSON export and saves the decisions as ``<review dir>/<round>.jsonl``; the next build applies
every saved round (a record rejected in any round goes to ``rejected.jsonl`` with stage
``review``) and reports each round's rejection rate against its expected range. An accepted
record may carry an edit (a corrected question or answer, made in ``tunesmith ui``): the build
keeps the record as corrected.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunesmith.data.schema import QARecord, Rejection, read_records
from tunesmith.data.sources.base import Skip
from tunesmith.data.split import SPLITS
from tunesmith.errors import TunesmithError
from tunesmith.utils.io import atomic_open, enumerate_jsonl, write_json_atomic, write_jsonl_atomic

Format = Literal["csv", "json"]
CSV_FIELDS = ("id", "round", "kind", "question", "context", "answer", "decision", "reason",
              "reviewer")
_CRITERIA = {
    "correctness": "Is the answer correct for the question, given the context? (Reject a wrong "
                   "answer, or a question marked unanswerable that the context does answer.)",
    "relevance": "Is the context relevant to the question, and is the question natural?",
    "adjudication": "Expert review: is this record fit for training?",
}
LABEL_STUDIO_CONFIG = """<View>
  <Header value="$round: $criterion"/>
  <Text name="question" value="$question"/>
  <Text name="context" value="$context"/>
  <Header value="Answer (empty: the context cannot answer)"/>
  <Text name="answer" value="$answer"/>
  <Choices name="decision" toName="question" choice="single" required="true">
    <Choice value="accept"/>
    <Choice value="reject"/>
  </Choices>
  <TextArea name="reason" toName="question" placeholder="why rejected" maxSubmissions="1"/>
</View>
"""


class ReviewError(TunesmithError):
    """A review file that cannot be read; the message names the file, line or item."""


EDITABLE = ("question", "answer")


@dataclass(frozen=True)
class Decision:
    id: str
    round: str
    decision: Literal["accept", "reject"]
    reason: str = ""
    reviewer: str = ""
    # an accepted record as the reviewer corrected it: "question", "answer" (None: the context
    # cannot answer it); empty when accepted as it is
    edit: dict[str, str | None] = field(default_factory=dict)


def _row(record: QARecord, round_name: str) -> dict[str, str]:
    return {"id": record.id, "round": round_name, "kind": record.kind,
            "question": record.question, "context": record.context,
            "answer": record.answer or "", "criterion": _CRITERIA.get(round_name, round_name)}


def export_review(records: Sequence[QARecord], out: Path, round_name: str,
                  fmt: Format = "csv") -> list[Path]:
    """Write a review file for ``round_name``; returns the files written.

    ``csv``: one row per record, blank ``decision``/``reason``/``reviewer`` columns to fill.
    ``json``: a list of flat objects (``id``, ``question``, ``context``, ``answer``, ``kind``,
    ``round``, ``criterion``): Label Studio imports it as tasks (with the labeling config
    written beside it, ``label_config.xml``), Argilla logs it as records of a dataset whose
    fields are question, context and answer.
    """
    out = Path(out)
    rows = [_row(r, round_name) for r in records]
    if fmt == "csv":
        with atomic_open(out) as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "decision": "", "reason": "", "reviewer": ""})
        return [out]
    write_json_atomic(out, rows)
    config = out.with_name("label_config.xml")
    with atomic_open(config) as handle:
        handle.write(LABEL_STUDIO_CONFIG)
    return [out, config]


def _decision(value: Any, where: str) -> Literal["accept", "reject"]:
    text = str(value or "").strip().lower()
    if text in ("accept", "accepted", "yes", "ok"):
        return "accept"
    if text in ("reject", "rejected", "no"):
        return "reject"
    raise ReviewError(f"{where}: decision {value!r}: expected 'accept' or 'reject'")


def _from_csv(path: Path, round_name: str) -> list[Decision]:
    decisions = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "decision"} - set(reader.fieldnames or [])
        if missing:
            raise ReviewError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                              f"expected the columns of an exported review file")
        for number, row in enumerate(reader, start=2):
            if not (row.get("decision") or "").strip():
                continue  # not reviewed (yet)
            if not (row.get("id") or "").strip():
                raise ReviewError(f"{path}:{number}: key 'id' is empty")
            decisions.append(Decision(
                row["id"].strip(), round_name, _decision(row["decision"], f"{path}:{number}"),
                (row.get("reason") or "").strip(), (row.get("reviewer") or "").strip()))
    return decisions


def _label_studio_choice(results: Iterable[Mapping[str, Any]]) -> tuple[str | None, str]:
    choice: str | None = None
    reason = ""
    for result in results:
        value = result.get("value", {})
        if result.get("from_name") == "decision" and value.get("choices"):
            choice = value["choices"][0]
        elif result.get("from_name") == "reason" and value.get("text"):
            reason = " ".join(value["text"])
    return choice, reason


def _from_json(path: Path, round_name: str) -> list[Decision]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReviewError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise ReviewError(f"{path}: expected a JSON list (Label Studio's JSON or JSON-MIN "
                          "export)")
    decisions = []
    for index, item in enumerate(items):
        where = f"{path}: item {index}"
        if not isinstance(item, dict):
            raise ReviewError(f"{where}: expected an object")
        data = item.get("data", item)
        record_id = data.get("id") if isinstance(data, dict) else None
        if not record_id:
            raise ReviewError(f"{where}: key 'data.id' (the record id) is missing")
        if "annotations" in item:  # Label Studio JSON export: the latest completed annotation
            done = [a for a in item["annotations"] if not a.get("was_cancelled")]
            if not done:
                continue
            latest = max(done, key=lambda a: str(a.get("updated_at") or a.get("created_at")))
            choice, reason = _label_studio_choice(latest.get("result", []))
            reviewer = str(latest.get("completed_by", ""))
        else:  # JSON-MIN export: the control names are keys
            choice, reason = item.get("decision"), str(item.get("reason") or "")
            reviewer = str(item.get("annotator", ""))
        if choice is None:
            continue
        decisions.append(Decision(str(record_id), round_name, _decision(choice, where),
                                  reason, reviewer))
    return decisions


def read_decisions(path: Path, round_name: str) -> list[Decision]:
    """Reviewers' decisions from a CSV or a Label Studio JSON export; unreviewed rows skipped."""
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return _from_csv(path, round_name)
    if path.suffix.lower() == ".json":
        return _from_json(path, round_name)
    raise ReviewError(f"{path}: expected a .csv or a .json (Label Studio export) file")


def check_round(round_name: str, rounds: Sequence[str]) -> None:
    if round_name not in rounds:
        raise ReviewError(f"unknown review round {round_name!r}; rounds: {', '.join(rounds)} "
                          "(data.review.expected)")


def save_decisions(review_dir: Path, round_name: str, decisions: Sequence[Decision]) -> Path:
    """Write (replace) a round's decisions file; the last decision per record wins."""
    latest = {d.id: d for d in decisions}
    path = Path(review_dir) / f"{round_name}.jsonl"
    write_jsonl_atomic(path, ({k: v for k, v in asdict(d).items() if k != "edit" or v}
                              for d in latest.values()))
    return path


def load_rounds(review_dir: Path, rounds: Sequence[str]) -> dict[str, list[Decision]]:
    """The saved decisions of every round that has a file, in review order."""
    out: dict[str, list[Decision]] = {}
    for name in rounds:
        path = Path(review_dir) / f"{name}.jsonl"
        if path.is_file():
            out[name] = [Decision(row["id"], name, _decision(row.get("decision"),
                                                             f"{path}:{number}"),
                                  str(row.get("reason", "")), str(row.get("reviewer", "")),
                                  _edit(row.get("edit"), f"{path}:{number}"))
                         for number, row in enumerate_jsonl(path)]
    return out


def _edit(value: Any, where: str) -> dict[str, str | None]:
    if not value:
        return {}
    if not isinstance(value, dict) or set(value) - set(EDITABLE):
        raise ReviewError(f"{where}: key 'edit' must be an object with keys among "
                          f"{', '.join(EDITABLE)}")
    return {k: None if v is None else str(v) for k, v in value.items()}


def apply_edit(record: QARecord, edit: Mapping[str, str | None]) -> QARecord:
    """``record`` as a reviewer corrected it. A new answer must appear verbatim in the context
    (its offset is found again); ``answer: None`` makes the record unanswerable."""
    unknown = set(edit) - set(EDITABLE)
    if unknown:
        raise ReviewError(f"record {record.id}: cannot edit {', '.join(sorted(unknown))}; "
                          f"editable: {', '.join(EDITABLE)}")
    update: dict[str, Any] = {}
    if "question" in edit:
        question = (edit["question"] or "").strip()
        if not question:
            raise ReviewError(f"record {record.id}: the edited question is empty")
        update["question"] = question
    if "answer" in edit:
        answer = edit["answer"]
        if answer is None:
            update.update(answer=None, answer_start=None, alt_answers=[], kind="unanswerable")
        else:
            answer = answer.strip()
            if not answer or answer not in record.context:
                raise ReviewError(f"record {record.id}: the answer {answer!r} does not appear "
                                  "in the context; copy it from the context, or mark the "
                                  "question unanswerable")
            start = record.contexts[0].find(answer)
            update.update(answer=answer, answer_start=start if start >= 0 else None,
                          alt_answers=[], kind="answerable" if record.kind == "unanswerable"
                          else record.kind)
    if not update:
        return record
    provenance = {**record.provenance, "review_edit": sorted(edit)}  # what the reviewer changed
    return QARecord.model_validate({**record.model_dump(), **update, "provenance": provenance})


def in_play(records: Iterable[QARecord], decided: Mapping[str, Sequence[Decision]],
            round_name: str, rounds: Sequence[str]) -> list[QARecord]:
    """The records a round reviews: those no earlier round rejected."""
    earlier = rounds[: list(rounds).index(round_name)]
    gone = {d.id for name in earlier for d in decided.get(name, []) if d.decision == "reject"}
    return [r for r in records if r.id not in gone]


def review_rates(decided: Mapping[str, Sequence[Decision]],
                 expected: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """Rejection rate per round, with the expected range and whether it is within."""
    rounds: dict[str, Any] = {}
    for name, decisions in decided.items():
        rejected = sum(d.decision == "reject" for d in decisions)
        rate = rejected / len(decisions) if decisions else 0.0
        low, high = expected.get(name, (0.0, 1.0))
        rounds[name] = {"reviewed": len(decisions), "rejected": rejected,
                        "rate": round(rate, 4), "expected": [low, high],
                        "within": low <= rate <= high}
    return {"rounds": rounds}


def apply_review(splits: Mapping[str, Sequence[QARecord]],
                 decided: Mapping[str, Sequence[Decision]]
                 ) -> tuple[dict[str, list[QARecord]], list[Rejection]]:
    """Drop every record a round rejected (stage ``review``, the round and reason given);
    apply the edits of the records kept (a later round's edit of a key wins)."""
    rejected_by: dict[str, Decision] = {}
    edits: dict[str, dict[str, str | None]] = {}
    for decisions in decided.values():
        for d in decisions:
            if d.decision == "reject":
                rejected_by.setdefault(d.id, d)
            elif d.edit:
                edits[d.id] = {**edits.get(d.id, {}), **d.edit}
    out: dict[str, list[QARecord]] = {}
    dropped: list[Rejection] = []
    for name, records in splits.items():
        out[name] = []
        for record in records:
            verdict = rejected_by.get(record.id)
            if verdict is None:
                edit = edits.get(record.id)
                out[name].append(apply_edit(record, edit) if edit else record)
            else:
                why = f"rejected in review round {verdict.round!r}" + (
                    f": {verdict.reason}" if verdict.reason else "")
                dropped.append(Rejection(record, "review", why))
    return out, dropped


# -- a round, as the CLI runs it -------------------------------------------------------------


def built_records(data_dir: Path, split: str = "all", skipped: list[Skip] | None = None
                  ) -> list[QARecord]:
    """The records of the last build: one split, or ``all`` of them. ``skipped``: as for
    :func:`read_records` (None: a bad line raises; a list: bad lines go to it)."""
    names = SPLITS if split == "all" else (split,)
    missing = [n for n in names if not (data_dir / f"{n}.jsonl").is_file()]
    if missing:
        raise ReviewError(f"{data_dir}: no {missing[0]}.jsonl; run `tunesmith data build` first")
    return [r for n in names for r in read_records(data_dir / f"{n}.jsonl", skipped)]


def export_round(data_dir: Path, review_dir: Path, rounds: Sequence[str], round_name: str,
                 out: Path, fmt: Format = "csv", split: str = "all",
                 sample: int | None = None, seed: int = 0,
                 skipped: list[Skip] | None = None) -> tuple[list[Path], int]:
    """Export the built records a round reviews (those earlier rounds kept), optionally a
    seeded sample of them; returns (files written, records exported). ``skipped``: see
    :func:`built_records`."""
    import random

    check_round(round_name, rounds)
    records = in_play(built_records(data_dir, split, skipped), load_rounds(review_dir, rounds),
                      round_name, rounds)
    if sample is not None and sample < len(records):
        records = sorted(random.Random(seed).sample(records, sample), key=lambda r: r.id)
    return export_review(records, out, round_name, fmt), len(records)


def import_round(review_dir: Path, rounds: Sequence[str], round_name: str, path: Path,
                 expected: Mapping[str, tuple[float, float]]) -> tuple[Path, dict[str, Any]]:
    """Read reviewers' decisions, save them as the round's file; returns it and the rates."""
    check_round(round_name, rounds)
    decisions = read_decisions(path, round_name)
    if not decisions:
        raise ReviewError(f"{path}: no decisions (fill the 'decision' column with accept or "
                          "reject)")
    saved = save_decisions(review_dir, round_name, decisions)
    return saved, review_rates(load_rounds(review_dir, rounds), expected)
