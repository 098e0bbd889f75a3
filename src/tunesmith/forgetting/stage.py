"""The probe of a run: base and tuned, side by side, in ``eval/forgetting.json``."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from tunesmith.config import RunConfig
from tunesmith.forgetting.probe import ProbeResult, compare_probes, merged_items, probe_model
from tunesmith.forgetting.sets import probe_sets
from tunesmith.inference import load_predictor
from tunesmith.utils.io import write_json_atomic
from tunesmith.utils.layout import RunLayout


def model_summary(result: ProbeResult) -> dict[str, Any]:
    """A model's probe scores (and the pass count of each checker), for JSON."""
    return {**result.scores(), "text_tokens": result.text_tokens,
            "by_checker": {k: {"passed": v[0], "total": v[1]}
                           for k, v in sorted(result.by_checker.items())}}


def probe_description(config: RunConfig) -> dict[str, Any]:
    """What was probed: the sizes, the generation limits and the sets' fingerprint."""
    probe = config.eval.forgetting
    sets = probe_sets().limited(probe.max_items)
    return {"passages": len(sets.passages), "instructions": len(sets.instructions),
            "questions": len(sets.questions), "max_new_tokens": probe.max_new_tokens,
            "qa_max_new_tokens": probe.qa_max_new_tokens, "sets_sha256": sets.fingerprint()}


def probe_run(config: RunConfig, layout: RunLayout,
              console: Console | None = None) -> dict[str, Any]:
    """Probe each model of ``eval.compare`` (one in memory at a time); write and return
    ``eval/forgetting.json``: each model's scores, the change (tuned − base) and every reply."""
    results: list[ProbeResult] = []
    for label in config.eval.compare:
        predictor = load_predictor(config, layout, label)
        results.append(probe_model(predictor.model, predictor.tokenizer, probe_sets(),
                                   config.eval.forgetting, label, console))
        del predictor
    by_label = {r.label: r for r in results}
    out: dict[str, Any] = {"probe": probe_description(config),
                           "models": {r.label: model_summary(r) for r in results}}
    if "base" in by_label and "tuned" in by_label:
        out["change"] = compare_probes(by_label["base"], by_label["tuned"])
    out["items"] = merged_items(results)
    write_json_atomic(layout.forgetting_json, out)
    return out
