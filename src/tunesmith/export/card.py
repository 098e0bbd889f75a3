"""The model card (``README.md`` in the Hugging Face layout) of an exported model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.data.card import CARD
from tunesmith.utils.layout import RunLayout

# the scores the card shows, in this order (the SQuAD 2.0 ones in percent, the rates as shares)
CARD_METRICS = ["exact", "f1", "HasAns_f1", "NoAns_f1", "hallucination_rate",
                "false_abstain_rate", "total"]


def _metrics(layout: RunLayout) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(layout.eval_metrics.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.2f}"
    return str(value)


def model_card(config: RunConfig, base_model: str, method: str, options: dict[str, Any],
               target: Path, notes: list[str], guard: dict[str, Any] | None = None) -> str:
    """The card's text: base, method, the data card link, the metrics and the guard."""
    layout = RunLayout.of(config)
    data_card = layout.data_dir / CARD
    link = (os.path.relpath(data_card.resolve(), target.resolve()) if data_card.is_file()
            else None)
    tags = ["tunesmith", method, "question-answering", "abstention"]
    settings = ", ".join(f"{k}={v}" for k, v in sorted(options.items())) or "defaults"
    lines = [
        "---",
        f"base_model: {json.dumps(config.model.name)}",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags:", *[f"- {t}" for t in tags],
        "---",
        "",
        f"# {config.name}: {config.model.name} + {method}, merged",
        "",
        f"Fine-tuned with tunesmith {__version__} to answer from the context it is given and "
        f"to reply `{config.guard.abstain_text}` when the context is not enough. The "
        f"{method} update is merged into the weights: this folder loads with "
        "`AutoModelForCausalLM.from_pretrained` alone, no adapter needed.",
        "",
        "## How it was made",
        "",
        f"- base model: `{config.model.name}` (loaded from `{base_model}`)",
        f"- method: `{method}` ({settings}), merged",
        f"- data: {f'[data card]({link})' if link else 'no data card in the run folder'}",
        f"- prompt: the system message `{config.guard.system_message()}` and the user turn "
        "`Context: <context>\\nQuestion: <question>`, through the tokenizer's chat template",
        "",
    ]
    metrics = _metrics(layout)
    lines += ["## Metrics", ""]
    if metrics:
        sources = {str(m.get("eval_set")) for m in metrics.values() if m.get("eval_set")}
        lines += [f"SQuAD 2.0 scores on {', '.join(sorted(sources)) or 'the test split'} "
                  "(runs/<name>/eval/metrics.json; EM/F1 in percent, rates as shares):", "",
                  "| metric | " + " | ".join(metrics) + " |",
                  "| --- |" + " --- |" * len(metrics)]
        for key in CARD_METRICS:
            lines.append(f"| {key} | " + " | ".join(_number(m.get(key, "")) for m in
                                                    metrics.values()) + " |")
    else:
        lines.append("Not evaluated yet (`tunesmith eval CONFIG` writes eval/metrics.json).")
    lines += ["", "## The guard", "",
              "The merged weights carry no gates. `tunesmith serve` puts them back: each answer "
              "is checked by the run's gates and abstains when one fires."]
    if guard:
        lines += ["", "| gate | threshold |", "| --- | --- |",
                  *[f"| {g} | {t} |" for g, t in guard.items()]]
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"
