"""The comparison's outputs: JSON (one row per method), a Markdown table with the seed's own
table beside it for contrast, and a plot (F1 and eval loss against trainable share)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tunesmith.utils.io import atomic_open, write_json_atomic, write_text_atomic

# seed: "Method Comparison Table" (its claims, quoted; compare them with the measured table)
SEED_TABLE = """| Method | Parameters | Memory | Performance |
|--------|------------|--------|-------------|
| `LoRA` | `0.5-5%` | Low | `95-99% FT` |
| `Prefix-Tuning` | `<0.1%` | Very Low | `85-92% FT` |
| `Adapters` | `1-4%` | Medium | `90-96% FT` |
| `QLoRA` | `0.5%` | Ultra Low | `94-97% FT` |"""

COLUMNS = ("method", "family", "trainable_params", "trainable_percent", "peak_memory_mb",
           "tokens_per_s", "eval_loss", "f1", "f1_percent_of_full")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def render_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    base = next((r for r in rows if r.get("method") == "base"), {})
    lines = [
        f"# Method comparison: {meta.get('run')}",
        "",
        f"Same data, seed ({meta.get('seed')}), budget ({meta.get('max_steps')} optimizer steps "
        f"of {meta.get('batch_size')} examples, learning rate {meta.get('learning_rate')}) and "
        f"evaluation for every method, {meta.get('jobs', 1)} at a time; {meta.get('date')}, "
        f"{meta.get('machine')}, "
        f"{meta.get('cpu_count')} CPU cores, GPU: {meta.get('gpu') or 'none'}; "
        f"{meta.get('seconds', 0) / 60:.1f} minutes in all.",
        "",
        *([f"Per-method settings: {_own(meta['method_overrides'])}.", ""]
          if meta.get("method_overrides") else []),
        f"Base model (untrained): eval loss {_fmt(_first_base_loss(rows))}, "
        f"F1 {_fmt(base.get('f1'))} on the {meta.get('eval_split')} split.",
        "",
        "| method | family | trainable params | % of model | peak memory (MiB) | train tokens/s "
        "| eval loss (base → tuned) | SQuAD 2.0 F1 | F1 % of full FT |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row.get("method") == "base":
            continue
        if row.get("status") != "ok":
            error = str(row.get("error", "")).replace("|", "\\|").replace("\n", " ")[:160]
            lines.append(f"| {row.get('method')} | error: {error} | | | | | | | |")
            continue
        loss = f"{_fmt(row.get('base_eval_loss'), 3)} → {_fmt(row.get('eval_loss'), 3)}"
        lines.append(
            f"| {row['method']} | {row.get('family')} | {_fmt(row.get('trainable_params'))} | "
            f"{_fmt(row.get('trainable_percent'), 3)} | {_fmt(row.get('peak_memory_mb'), 0)} | "
            f"{_fmt(row.get('tokens_per_s'), 0)} | {loss} | {_fmt(row.get('f1'))} | "
            f"{_fmt(row.get('f1_percent_of_full'), 0)} |")
    measure = next((r.get("memory_measure") for r in rows if r.get("memory_measure")), "")
    lines += [
        "",
        f"Peak memory: {measure} of the method's own process (Python, torch, model, "
        "activations and optimizer state together). Tokens/s: non-padding training tokens per "
        "second of training time, on a machine shared with other work unless stated.",
        "",
        "## The seed's table, for contrast",
        "",
        SEED_TABLE,
        "",
        "The seed's percentages are for models of billions of parameters; a small model "
        "spends a larger share on adapters, and a short budget favours methods that move fast.",
        "",
    ]
    return "\n".join(lines)


def _own(method_overrides: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(items)}" for name, items in method_overrides.items())


def _first_base_loss(rows: list[dict[str, Any]]) -> float | None:
    return next((r.get("base_eval_loss") for r in rows if r.get("base_eval_loss") is not None),
                None)


def render_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("status") == "ok" and r.get("method") != "base"
          and r.get("trainable_percent")]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, label in ((axes[0], "f1", "SQuAD 2.0 F1"), (axes[1], "eval_loss", "eval loss")):
        for row in ok:
            if row.get(key) is None:
                continue
            ax.scatter(row["trainable_percent"], row[key])
            ax.annotate(row["method"], (row["trainable_percent"], row[key]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("trainable parameters (% of the model, log scale)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    base_loss = _first_base_loss(rows)
    if base_loss is not None:
        axes[1].axhline(base_loss, color="grey", linestyle="--", label="base model")
        axes[1].legend()
    base_f1 = next((r.get("f1") for r in rows if r.get("method") == "base"), None)
    if base_f1 is not None:
        axes[0].axhline(base_f1, color="grey", linestyle="--", label="base model")
        axes[0].legend()
    fig.suptitle("Methods on the same data, seed and step budget")
    fig.tight_layout()
    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=110)
    finally:
        plt.close(fig)


def write_outputs(rows: list[dict[str, Any]], meta: dict[str, Any], out_dir: Path) -> None:
    write_json_atomic(out_dir / "comparison.json", {"meta": meta, "rows": rows})
    write_text_atomic(out_dir / "comparison.md", render_markdown(rows, meta))
    render_plot(rows, out_dir / "comparison.png")
