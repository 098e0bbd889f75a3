"""``train.forgetting`` → what ``train_sft`` takes: extra losses, extra records, callbacks.

The one place the switches turn into training components, used by the pipeline's train stage
and by each run of ``tunesmith compare``:

    mitigations = build_mitigations(config, base_model, data_dir, train_dir, console)
    train_sft(..., extra_losses=mitigations.extra_losses,
              extra_records=mitigations.extra_records, callbacks=mitigations.callbacks)
    details["forgetting"] = mitigations.summary()   # after training: the penalty's last value
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.data.schema import QARecord, read_records
from tunesmith.errors import TunesmithError
from tunesmith.forgetting.curriculum import CurriculumCallback
from tunesmith.forgetting.ewc import EWCPenalty
from tunesmith.forgetting.replay import build_replay
from tunesmith.forgetting.sets import fisher_passages


@dataclass
class Mitigations:
    extra_losses: list[Any] = field(default_factory=list)
    extra_records: list[QARecord] = field(default_factory=list)
    callbacks: list[Any] = field(default_factory=list)
    ewc: EWCPenalty | None = None
    curriculum: CurriculumCallback | None = None
    replay: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """What was on, and what it did (for the train stage's manifest and compare's rows)."""
        return {"ewc": self.ewc.summary() if self.ewc else None,
                "curriculum": self.curriculum.summary() if self.curriculum else None,
                "replay": self.replay}

    @property
    def label(self) -> str:
        """none, ewc, replay, curriculum, or a '+'-joined combination."""
        parts = [name for name, on in (("ewc", self.ewc and not self.curriculum),
                                       ("curriculum", self.curriculum),
                                       ("replay", self.replay)) if on]
        return "+".join(parts) or "none"


def build_mitigations(config: RunConfig, base_model: str, data_dir: Path, work_dir: Path,
                      console: Console | None = None) -> Mitigations:
    """The components ``config.train.forgetting`` switches on (none: an empty set)."""
    forgetting = config.train.forgetting
    out = Mitigations()
    if forgetting.ewc.enabled:
        if config.train.offload_optimizer and torch.cuda.is_available():
            raise TunesmithError("train.forgetting.ewc: not with train.offload_optimizer "
                                 "(DeepSpeed partitions the parameters the penalty reads); "
                                 "turn one off")
        texts = fisher_passages()[:forgetting.ewc.fisher_texts]
        out.ewc = EWCPenalty(forgetting.ewc.strength, texts, forgetting.ewc.max_length, console)
        out.extra_losses.append(out.ewc)
        out.callbacks.append(out.ewc)  # takes the Fisher and θ* when the Trainer is built
        if forgetting.curriculum.enabled:
            out.curriculum = CurriculumCallback(out.ewc, forgetting.curriculum.start,
                                                forgetting.curriculum.end)
            out.callbacks.append(out.curriculum)
    if forgetting.replay.enabled:
        n_task = len(read_records(data_dir / "train.jsonl"))
        work_dir.mkdir(parents=True, exist_ok=True)
        out.extra_records, out.replay = build_replay(config, base_model, n_task, work_dir,
                                                     console)
    return out
