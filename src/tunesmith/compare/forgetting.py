"""``tunesmith compare CONFIG --forgetting``: each mitigation against none, and an adapter against
full fine-tuning, on the same data, seed and step budget; task gain against general loss.

The variants (each a row, trained in its own process like every compared method):

- ``<method>``: the configured method, no mitigation;
- ``<method>+ewc``, ``<method>+replay``, ``<method>+curriculum`` (EWC with the decaying
  old-task weight): the configured method, with one mitigation switched on;
- each isolation contrast (``--methods``; default ``full``, or ``lora`` when the config's
  method is ``full``): that method with no mitigation.

Every row, and the untrained base, also runs the forgetting probe. The task gain is F1 − the
base's F1; the general loss is ``forgetting.general_loss`` against the base's probe; "gain kept"
is a row's task gain as a % of the unmitigated configured method's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.config.auto import is_auto
from tunesmith.utils.io import atomic_open, write_json_atomic, write_text_atomic

OFF = ["train.forgetting.curriculum.enabled=false", "train.forgetting.ewc.enabled=false",
       "train.forgetting.replay.enabled=false"]
MITIGATIONS: dict[str, list[str]] = {
    "none": OFF,
    "ewc": [*OFF, "train.forgetting.ewc.enabled=true"],
    "replay": [*OFF, "train.forgetting.replay.enabled=true"],
    "curriculum": [*OFF, "train.forgetting.ewc.enabled=true",
                   "train.forgetting.curriculum.enabled=true"],
}
PROBE_KEYS = ("perplexity", "instruction_following", "closed_book_qa")
# issue 13: the best mitigation keeps at least 90% of the unmitigated task gain
KEEP_GAIN = 90.0


@dataclass(frozen=True)
class Variant:
    """One row: its label (the folder and the table's name), method and ``--set`` items."""

    label: str
    method: str
    mitigation: str = "none"
    overrides: list[str] = field(default_factory=list)


def forgetting_variants(method: str, isolation: list[str] | None = None) -> list[Variant]:
    """The configured method without and with each mitigation, then the isolation contrasts."""
    contrasts = isolation or (["lora"] if method == "full" else ["full"])
    rows = [Variant(method if m == "none" else f"{method}+{m}", method, m, MITIGATIONS[m])
            for m in MITIGATIONS]
    rows += [Variant(name, name, "none", OFF) for name in contrasts if name != method]
    return rows


def probe_scores(predictor: Any, config: Any, out_dir: Path) -> dict[str, Any]:
    """Run the probe on a compared model; its replies go to ``out_dir/forgetting.json``."""
    # deferred: importing these loads safetensors, torch, transformers
    from tunesmith.forgetting import model_summary, probe_description, probe_model, probe_sets
    from tunesmith.forgetting.probe import merged_items

    result = probe_model(predictor.model, predictor.tokenizer, probe_sets(),
                         config.eval.forgetting, predictor.label)
    write_json_atomic(out_dir / "forgetting.json", {
        "probe": probe_description(config), "models": {result.label: model_summary(result)},
        "items": merged_items([result])})
    return result.scores()


def _written(value: Any) -> str:
    """A config value as the header shows it: ``2e-04``, or ``auto`` (the plan's)."""
    return "auto (the plan's)" if is_auto(value) else f"{value:g}"


def forgetting_meta(config: Any, max_steps: int) -> dict[str, Any]:
    """The shared budget and the probe's size, in words, for the table's header."""
    # deferred: importing it loads safetensors, torch, transformers
    from tunesmith.forgetting import probe_description

    p = probe_description(config)
    t = config.train
    return {
        "budget": (f"Same data, seed ({config.seed}) and budget for every row: {max_steps} "
                   f"optimizer steps of {t.batch_size} examples at learning rate "
                   f"{_written(t.learning_rate)} (replayed examples join the training split; "
                   "the steps stay the same)"),
        "probe": (f"Forgetting probe: perplexity on {p['passages']} passages of general prose, "
                  f"{p['instructions']} verifiable instructions (replies up to "
                  f"{p['max_new_tokens']} tokens), {p['questions']} closed-book questions"),
        "probe_sets": p}


def add_forgetting_columns(rows: list[dict[str, Any]]) -> None:
    """task_gain, general_loss (against the base row) and gain_kept_percent, in place."""
    # deferred, as every import of tunesmith.forgetting here: it loads torch and transformers
    from tunesmith.forgetting.probe import general_loss

    base = next((r for r in rows if r.get("method") == "base" and r.get("status") == "ok"), None)
    if base is None:
        return
    none = next((r for r in rows if r.get("mitigation") == "none" and r.get("status") == "ok"
                 and r.get("configured")), None)
    for row in rows:
        if row.get("status") != "ok" or row.get("f1") is None or base.get("f1") is None:
            continue
        row["task_gain"] = row["f1"] - base["f1"]
        if all(_number(row.get(k)) and _number(base.get(k)) for k in PROBE_KEYS):
            row["general_loss"] = general_loss({k: base[k] for k in PROBE_KEYS},
                                               {k: row[k] for k in PROBE_KEYS})
        gain = none.get("task_gain") if none else None
        row["gain_kept_percent"] = (100.0 * row["task_gain"] / gain
                                    if _number(gain) and gain else None)


def best_mitigation(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The mitigated row of the configured method with the least general loss among those that
    keep at least :data:`KEEP_GAIN` % of the unmitigated task gain (None if none does)."""
    kept = [r for r in rows if r.get("configured") and r.get("mitigation") != "none"
            and _number(r.get("general_loss")) and _number(r.get("gain_kept_percent"))
            and r["gain_kept_percent"] >= KEEP_GAIN]
    return min(kept, key=lambda r: r["general_loss"]) if kept else None


def _own(method_overrides: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(items)}" for name, items in method_overrides.items())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: Any, digits: int = 2) -> str:
    return f"{value:,.{digits}f}" if _number(value) else "–"


def render_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    base = next((r for r in rows if r.get("method") == "base"), {})
    none = next((r for r in rows if r.get("configured") and r.get("mitigation") == "none"), {})
    best = best_mitigation(rows)
    lines = [
        f"# Forgetting: mitigations compared on {meta.get('run')}",
        "",
        f"{meta.get('budget')}. {meta.get('probe')}.",
        "",
        *([f"Per-row settings: {_own(meta['method_overrides'])}.", ""]
          if meta.get("method_overrides") else []),
        f"Base model (untrained): F1 {_fmt(base.get('f1'))}, perplexity "
        f"{_fmt(base.get('perplexity'))}, instructions {_fmt(base.get('instruction_following'), 1)}"
        f"%, closed-book QA {_fmt(base.get('closed_book_qa'), 1)}%.",
        "",
        "| variant | method | mitigation | task F1 | task gain | gain kept (% of none) "
        "| perplexity | instructions % | closed-book QA % | general loss | train s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row.get("method") == "base":
            continue
        if row.get("status") != "ok":
            error = str(row.get("error", "")).replace("|", "\\|").replace("\n", " ")[:160]
            lines.append(f"| {row.get('method')} | error: {error} | | | | | | | | | |")
            continue
        lines.append(
            f"| {row['method']} | {row.get('base_method')} | {row.get('mitigation')} | "
            f"{_fmt(row.get('f1'))} | {_fmt(row.get('task_gain'))} | "
            f"{_fmt(row.get('gain_kept_percent'), 0)} | {_fmt(row.get('perplexity'))} | "
            f"{_fmt(row.get('instruction_following'), 1)} | {_fmt(row.get('closed_book_qa'), 1)} | "
            f"{_fmt(row.get('general_loss'))} | {_fmt(row.get('train_seconds'), 0)} |")
    lines += [
        "",
        "Task gain: SQuAD 2.0 F1 − the base's, on the run's evaluation set. General loss: the "
        "mean of the instruction-following drop and the closed-book QA drop (percentage points) "
        "and the perplexity rise (% of the base's), against the base; lower is better, "
        "negative means the model gained.",
        "",
    ]
    if best is not None and _number(none.get("general_loss")):
        verdict = "less" if best["general_loss"] < none["general_loss"] else "not less"
        lines.append(
            f"Best mitigation: **{best['method']}**, general loss {_fmt(best['general_loss'])} "
            f"against {_fmt(none['general_loss'])} without mitigation ({verdict}), keeping "
            f"{_fmt(best['gain_kept_percent'], 0)}% of the task gain.")
    else:
        lines.append(f"No mitigation kept {KEEP_GAIN:.0f}% of the unmitigated task gain.")
    lines.append("")
    return "\n".join(lines)


def render_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.scatter([0.0], [0.0], color="grey", marker="s")
    ax.annotate("base", (0.0, 0.0), fontsize=8, xytext=(4, 4), textcoords="offset points")
    for row in rows:
        if not (_number(row.get("general_loss")) and _number(row.get("task_gain"))):
            continue
        marker = "o" if row.get("configured") else "^"
        ax.scatter(row["general_loss"], row["task_gain"], marker=marker)
        ax.annotate(row["method"], (row["general_loss"], row["task_gain"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.axvline(0.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel("general loss (points, lower is better)")
    ax.set_ylabel("task gain (SQuAD 2.0 F1 − base)")
    ax.set_title("Task gain against general loss, same data, seed and step budget")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)


def write_forgetting_outputs(rows: list[dict[str, Any]], meta: dict[str, Any],
                             out_dir: Path) -> None:
    """compare/forgetting.{json,md,png}."""
    best = best_mitigation(rows)
    write_json_atomic(out_dir / "forgetting.json",
                      {"meta": meta, "rows": rows, "best": best["method"] if best else None})
    write_text_atomic(out_dir / "forgetting.md", render_markdown(rows, meta))
    render_plot(rows, out_dir / "forgetting.png")
