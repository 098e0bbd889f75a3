"""``tunesmith export --format merged``: ``save_pretrained`` of the merged model, with a card."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import transformers

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.export.card import model_card
from tunesmith.export.merge import EXPORT_MARKER, MergedModel, merge_tuned, publish, save_merged
from tunesmith.guard import GATES
from tunesmith.guard.signals import has_rejection_head
from tunesmith.guard.stages import gate_settings
from tunesmith.inference.loading import chosen_no_answer_threshold
from tunesmith.utils.layout import RunLayout


def guard_thresholds(config: RunConfig) -> dict[str, float]:
    """The gates and thresholds serving applies to the tuned model, as the Guard settles them:
    calibrated, else the eval stage's choice under ``guard.no_answer_threshold: auto``, else
    configured, else the seed's."""
    layout = RunLayout.of(config)
    settings = gate_settings(config, layout.root, "tuned",
                             chosen_no_answer_threshold(config, layout, "tuned"),
                             has_rejection_head(layout))
    return {g: settings.thresholds.get(g, GATES.get(g).default) for g in settings.gates}


def write_merged_folder(config: RunConfig, merged: MergedModel, target: Path,
                        extra: dict[str, Any] | None = None) -> Path:
    """Write the merged model, its tokenizer, the card and the export marker (last) to a
    temporary sibling of ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        save_merged(merged, tmp)
        card = model_card(config, merged.base_model, merged.method, merged.options, target,
                          merged.notes, guard_thresholds(config))
        (tmp / "README.md").write_text(card, encoding="utf-8")
        marker = {
            "format": "merged", "run": str(config.run_dir), "base_model": merged.base_model,
            "method": merged.method, "options": merged.options,
            "parameters": sum(p.numel() for p in merged.model.parameters()),
            "dtype": str(next(merged.model.parameters()).dtype).removeprefix("torch."),
            "tunesmith_version": __version__,
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **(extra or {}),
        }
        (tmp / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        publish(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def export_merged(config: RunConfig, out: Path | None = None) -> dict[str, Any]:
    """Merge the run's adapter into its base and write ``runs/<name>/export/merged`` (or
    ``out``); returns what was written."""
    target = out or RunLayout.of(config).merged_export
    merged = merge_tuned(config)
    write_merged_folder(config, merged, target)
    return {"format": "merged", "path": str(target), "method": merged.method,
            "base_model": merged.base_model, "notes": merged.notes}
