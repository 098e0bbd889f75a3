"""Where a dataset stands against the seed's scaling guidelines, and what annotating it costs.

seed, "Dataset Scaling Guidelines":
| Application       | Minimum Size | Ideal Size | Cost Estimate     |
| Proof-of-Concept  | 500 QA pairs | 1,000      | $1,500-$3,000     |
| Production MVP    | 5,000        | 15,000     | $12,000-$25,000   |
| Enterprise System | 20,000       | 100,000+   | $75,000-$200,000  |
and "Estimate annotation/curation expenses ($3-10 per example)".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.config import load_config
from tunesmith.config.data_io import SizeConfig
from tunesmith.data.schema import read_records
from tunesmith.data.sources.base import Skip
from tunesmith.errors import TunesmithError
from tunesmith.utils.layout import RunLayout


@dataclass(frozen=True)
class Tier:
    name: str
    label: str
    minimum: int
    ideal: int
    seed_cost: str


TIERS = (
    Tier("poc", "Proof-of-Concept", 500, 1_000, "$1,500-$3,000"),
    Tier("mvp", "Production MVP", 5_000, 15_000, "$12,000-$25,000"),
    Tier("enterprise", "Enterprise System", 20_000, 100_000, "$75,000-$200,000"),
)


def place(examples: int, costs: SizeConfig | None = None) -> dict[str, Any]:
    """The tier ``examples`` reaches, each tier's status, the cost, and the gap to the next."""
    costs = costs or SizeConfig()
    low, high = costs.cost_per_example_low, costs.cost_per_example_high
    reached = [t for t in TIERS if examples >= t.minimum]
    tier = reached[-1] if reached else None
    nxt = next((t for t in TIERS if examples < t.minimum), None)
    return {
        "examples": examples,
        "tier": tier.name if tier else "below-poc",
        "tier_label": tier.label if tier else f"below Proof-of-Concept (< {TIERS[0].minimum})",
        "tiers": [{
            "name": t.name, "label": t.label, "minimum": t.minimum, "ideal": t.ideal,
            "seed_cost": t.seed_cost,
            "status": ("ideal met" if examples >= t.ideal else "minimum met"
                       if examples >= t.minimum else f"{t.minimum - examples:,} short"),
        } for t in TIERS],
        "annotation_cost": {"per_example": [low, high], "low": examples * low,
                            "high": examples * high},
        "next_tier": None if nxt is None else {
            "name": nxt.name, "label": nxt.label, "missing": nxt.minimum - examples,
            "cost_low": (nxt.minimum - examples) * low,
            "cost_high": (nxt.minimum - examples) * high},
    }


def size_report(target: Path, overrides: list[str] | None = None,
                skipped: list[Skip] | None = None) -> dict[str, Any]:
    """Size of a built run (from its config) or of one records JSONL file.

    ``skipped``: as for :func:`read_records` (None: the first bad line raises; a list: bad
    lines are appended to it and not counted)."""
    target = Path(target).expanduser()

    def _count_records(path: Path) -> int:
        return len(read_records(path, skipped))

    if not target.exists():
        raise TunesmithError(f"{target}: no such file")
    if target.suffix.lower() in (".yaml", ".yml"):
        config = load_config(target, overrides or [])
        data_dir = RunLayout.of(config).data_dir
        splits = {name: data_dir / f"{name}.jsonl" for name in ("train", "val", "test")}
        if not any(p.exists() for p in splits.values()):
            raise TunesmithError(f"{data_dir}: no built data; run `tunesmith data build "
                                 f"{target}` first")
        counts = {name: _count_records(p) for name, p in splits.items() if p.exists()}
        report = place(sum(counts.values()), config.data.size)
        report["splits"] = counts
        report["source"] = str(data_dir)
        return report
    report = place(_count_records(target))
    report["source"] = str(target)
    return report
