"""``report.html``: one self-contained page built from whatever a run folder holds.

Everything is inline (CSS in a ``<style>`` block, plots as ``data:image/png;base64`` URIs), so
the file can be mailed, attached to a ticket or opened offline. A stage that has not run yet
gets a line saying so; a damaged input gets a note; neither stops the rest of the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from tunesmith import __version__
from tunesmith.report import plots
from tunesmith.report.decide import decide_section
from tunesmith.report.forgetting import forgetting_section
from tunesmith.report.guard import guard_section
from tunesmith.report.markup import (
    MISSING,
    cell,
    image,
    load_section_jsonl,
    not_run,
    note,
    read_json_or_note,
    table_html,
)
from tunesmith.utils.io import write_text_atomic
from tunesmith.utils.layout import RunLayout

EXAMPLES_PER_MODEL = 20
SIDE_BY_SIDE = 10  # issue 11: ten examples, base beside tuned
_HASH_CHARS = 12
# SQuAD 2.0 keys in reading order (the official script's names); other keys follow them.
_METRIC_ORDER = ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
                 "total", "HasAns_total", "NoAns_total")
_MODEL_ORDER = ("base", "tuned")

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2330;line-height:1.45;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 20px 48px}
header{border-bottom:2px solid #d7dce3;margin-bottom:8px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.25em;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid #d7dce3}
h3{font-size:1.05em;margin:18px 0 6px}
.meta{color:#5b6575;font-size:.92em;margin:0 0 12px}
nav{font-size:.92em;margin:8px 0 0}
nav a{color:#2456a6;margin-right:14px;text-decoration:none}
table{border-collapse:collapse;margin:8px 0 14px;background:#fff;font-size:.92em}
th,td{border:1px solid #cfd5dd;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.pos{color:#1a7f37}
td.neg{color:#c0392b}
table.examples td{max-width:330px;overflow-wrap:anywhere}
img{max-width:100%;height:auto;display:block;margin:8px 0;background:#fff;
 border:1px solid #d7dce3}
.missing{color:#5b6575;font-style:italic}
.note{color:#8a5a00;background:#fff8e6;border-left:3px solid #e0a800;padding:6px 10px}
code{background:#eef1f5;padding:1px 4px;border-radius:3px;font-size:.92em}
em.empty{color:#8a93a3}
"""


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    body: str


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the report of ``run_dir`` (default ``run_dir/report.html``) atomically; returns it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run folder; run a stage first")
    path = Path(out) if out is not None else RunLayout(run_dir).report
    write_text_atomic(path, render_report(run_dir))
    return path


def _guard_body(run_dir: Path) -> str:
    return guard_section(run_dir)  # thresholds, abstention, ablation


def render_report(run_dir: Path) -> str:
    """The report page of ``run_dir`` as one HTML string."""
    run_dir = Path(run_dir)
    sections = [
        Section("stages", "Stages", _stages_body(run_dir)),
        Section("data", "Data", _data_body(run_dir)),
        Section("decide", "Decide", decide_section(run_dir)),
        Section("training", "Training", _training_body(run_dir)),
        Section("evaluation", "Evaluation", _evaluation_body(run_dir)),
        Section("forgetting", "Forgetting", forgetting_section(run_dir)),
        Section("guard", "Guard", _guard_body(run_dir)),
        Section("examples", "Examples", _examples_body(run_dir)),
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    name = escape(run_dir.resolve().name)
    nav = "".join(f'<a href="#{s.anchor}">{escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>tunesmith report: {name}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        "<header>",
        f"<h1>tunesmith report: {name}</h1>",
        f'<p class="meta">Generated {escape(generated)} by tunesmith {escape(__version__)}</p>',
        f"<nav>{nav}</nav>",
        "</header>",
    ]
    for section in sections:
        parts.append(f'<section id="{section.anchor}"><h2>{escape(section.title)}</h2>')
        parts.append(section.body)
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


# -- reading the run folder ------------------------------------------------------------------


def _union_keys(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    """Keys of all mappings, in order of first appearance (so train, val, test stay in order)."""
    seen: dict[str, None] = {}
    for mapping in mappings:
        for key in mapping:
            seen.setdefault(str(key), None)
    return list(seen)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flatten(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        pairs: list[tuple[str, Any]] = []
        for key, inner in value.items():
            pairs.extend(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    return [(prefix, value)]


# -- sections --------------------------------------------------------------------------------


def _stages_body(run_dir: Path) -> str:
    manifests: list[tuple[str, Mapping[str, Any]]] = []
    notes: list[str] = []
    for path in sorted(run_dir.glob("*/manifest.json")):
        content, problem = read_json_or_note(path)
        if isinstance(content, Mapping):
            manifests.append((path.parent.name, content))
        else:
            notes.append(problem or f"{path.parent.name}/manifest.json is not a JSON object")
    if not manifests and not notes:
        return not_run("No stage has been", "*/manifest.json")
    # In the order they ran; a manifest without a start time goes last.
    manifests.sort(key=lambda item: (str(item[1].get("started") or "~"), item[0]))
    rows = []
    for folder, manifest in manifests:
        seconds = manifest.get("seconds")
        duration = _duration(seconds) if plots.is_number(seconds) else MISSING
        config_hash = str(manifest.get("config_hash") or "")[:_HASH_CHARS] or MISSING
        rows.append(
            "<tr>"
            f"<td>{escape(str(manifest.get('stage') or folder))}</td>"
            f"<td>{escape(str(manifest.get('started') or MISSING))}</td>"
            f'<td class="num">{escape(duration)}</td>'
            f"<td><code>{escape(config_hash)}</code></td>"
            "</tr>"
        )
    table = table_html(["stage", "started", "duration", "config hash"], rows, numeric_from=2)
    return table + "".join(note(n) for n in notes)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _load_section_json(run_dir: Path, relative: str, stage: str) -> tuple[Any, str | None]:
    """(the parsed file, None), or (None, the HTML to show instead)."""
    value, problem = read_json_or_note(run_dir / relative)
    if problem:
        return None, note(problem)
    if value is None:
        return None, not_run(stage, relative)
    return value, None


def _data_body(run_dir: Path) -> str:
    stats, instead = _load_section_json(run_dir, "data/stats.json", "Data build")
    if instead is not None:
        return instead
    if not isinstance(stats, Mapping):
        return note("data/stats.json is not a JSON object")
    link = ""
    if RunLayout(run_dir).data_report.is_file():
        # quality control, review, balance and length histograms live in the data report
        link = ('<p>The data report (quality control, review rounds, balance, token-length '
                'histograms): <a href="data/report.html">data/report.html</a></p>')
        stats = {k: v for k, v in stats.items() if k not in _DATA_REPORT_KEYS}
    return link + render_stats(stats)


_DATA_REPORT_KEYS = ("quality", "review", "balance", "lengths", "skipped", "rejected_by_stage")


def render_stats(stats: Mapping[str, Any]) -> str:
    """Tables for a nested dict of numbers, whatever its keys.

    Sections keyed by split (``counts``, ``documents``) share one table, a row each; sections
    keyed by split then by something else (``kinds``) get a table each; anything else is listed
    as dotted key paths.
    """
    by_split: dict[str, Mapping[str, Any]] = {}
    grids: dict[str, Mapping[str, Mapping[str, Any]]] = {}
    others: list[tuple[str, Any]] = []
    for key, value in stats.items():
        if isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
            by_split[str(key)] = value
        elif (isinstance(value, Mapping) and value
              and all(isinstance(v, Mapping) and all(_is_scalar(x) for x in v.values())
                      for v in value.values())):
            grids[str(key)] = value
        else:
            others.extend(_flatten(value, str(key)))
    parts: list[str] = []
    if by_split:
        columns = _union_keys(by_split.values())
        rows = (f"<tr><th>{escape(name)}</th>"
                + "".join(cell(section.get(c)) for c in columns) + "</tr>"
                for name, section in by_split.items())
        parts.append(table_html(["", *columns], rows))
    for name, grid in grids.items():
        columns = _union_keys(grid.values())
        rows = (f"<tr><th>{escape(str(row))}</th>"
                + "".join(cell(values.get(c)) for c in columns) + "</tr>"
                for row, values in grid.items())
        parts.append(f"<h3>{escape(name)}</h3>" + table_html(["", *columns], rows))
    if others:
        rows = (f"<tr><th>{escape(k)}</th>{cell(v)}</tr>" for k, v in others)
        parts.append(table_html(["", "value"], rows))
    return "\n".join(parts) or note("data/stats.json is empty")


def _training_body(run_dir: Path) -> str:
    loaded = load_section_jsonl(run_dir, "train/metrics.jsonl", "Training")
    if isinstance(loaded, str):
        return loaded
    records, skipped = loaded
    parts = [skipped]
    loss_png = plots.loss_curve_png(records)
    if loss_png is None:
        parts.append('<p class="missing">No loss values logged yet.</p>')
    parts.append(image(loss_png, "training and eval loss against step"))
    parts.append(image(plots.learning_rate_png(records), "learning rate against step"))
    parts.append(_training_summary(records))
    return "\n".join(p for p in parts if p)


def _training_summary(records: Sequence[Mapping[str, Any]]) -> str:
    facts: list[tuple[str, Any]] = []
    train_steps, train_loss = plots.series(records, "loss")
    if train_loss:
        facts.append(("last train loss", train_loss[-1]))
    eval_steps, eval_loss = plots.series(records, "eval_loss")
    if eval_loss:
        best = min(range(len(eval_loss)), key=eval_loss.__getitem__)
        facts.append(("best eval loss", eval_loss[best]))
        facts.append(("best eval loss at step", int(eval_steps[best])))
    # The Trainer's last log entry summarises the run (train_runtime, train_loss, ...).
    summary = next((r for r in reversed(records) if "train_runtime" in r), None)
    if summary is not None:
        facts.extend((str(k), v) for k, v in summary.items() if _is_scalar(v))
    if not facts:
        return ""
    rows = (f"<tr><th>{escape(k)}</th>{cell(v)}</tr>" for k, v in facts)
    return "<h3>Summary</h3>" + table_html(["", "value"], rows)


def _in_model_order(names: Iterable[str]) -> list[str]:
    """Base first, tuned second, then any other model (e.g. rag) as found."""
    names = list(names)
    return [m for m in _MODEL_ORDER if m in names] + [m for m in names if m not in _MODEL_ORDER]


def _models(metrics: Mapping[str, Any]) -> list[str]:
    return _in_model_order(str(k) for k, v in metrics.items() if isinstance(v, Mapping))


def _evaluation_body(run_dir: Path) -> str:
    metrics, instead = _load_section_json(run_dir, "eval/metrics.json", "Evaluation")
    if instead is not None:
        return instead
    if not isinstance(metrics, Mapping) or not _models(metrics):
        return note("eval/metrics.json holds no per-model scores")
    return render_metric_table(metrics) + image(plots.metric_bars_png(
        {m: metrics[m] for m in _models(metrics)}), "scores per model")


def render_metric_table(metrics: Mapping[str, Any]) -> str:
    """Base against tuned (and any other model), with a tuned - base delta column."""
    present = _models(metrics)
    columns = _in_model_order([*_MODEL_ORDER, *present])  # base and tuned even when missing
    scores: dict[str, Mapping[str, Any]] = {
        m: metrics[m] if m in present else {} for m in columns
    }
    keys = _union_keys(scores.values())
    keys = [k for k in _METRIC_ORDER if k in keys] + [k for k in keys if k not in _METRIC_ORDER]
    rows = []
    for key in keys:
        values = [scores[m].get(key) for m in columns]
        if not any(_is_scalar(v) and v is not None for v in values):
            continue  # nested extras (e.g. per-kind breakdowns) do not fit a score table
        base, tuned = scores["base"].get(key), scores["tuned"].get(key)
        rows.append(f"<tr><th>{escape(key)}</th>" + "".join(cell(v) for v in values)
                    + _delta_cell(key, base, tuned) + "</tr>")
    table = table_html(["metric", *columns, "Δ (tuned − base)"], rows)
    missing = [m for m in _MODEL_ORDER if m not in present]
    notes = "".join(note(f"No {m} scores in eval/metrics.json.") for m in missing)
    return table + notes


def _delta_cell(key: str, base: Any, tuned: Any) -> str:
    if not (plots.is_number(base) and plots.is_number(tuned)):
        return f'<td class="num">{MISSING}</td>'
    delta = tuned - base
    counts = isinstance(base, int) and isinstance(tuned, int)
    text = f"{delta:+,}" if counts else f"{delta:+,.2f}"
    # Totals are counts, not scores: a change there is neither good nor bad.
    tone = "" if key.endswith("total") else ("pos" if delta > 0 else "neg" if delta < 0 else "")
    return f'<td class="{" ".join(c for c in ("num", tone) if c)}">{escape(text)}</td>'


def _gold_text(answers: Any) -> str:
    if isinstance(answers, Mapping):  # SQuAD style {"text": [...], "answer_start": [...]}
        answers = answers.get("text")
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list):
        return ""
    return " | ".join(str(a) for a in answers if str(a).strip())


def _text_or_placeholder(text: str, placeholder: str) -> str:
    if text.strip():
        return escape(text)
    return f'<em class="empty">{escape(placeholder)}</em>'


def _examples_body(run_dir: Path) -> str:
    loaded = load_section_jsonl(run_dir, "eval/predictions.jsonl", "Evaluation")
    if isinstance(loaded, str):
        return loaded
    records, skipped = loaded
    by_model: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_model.setdefault(str(record.get("model") or "model"), []).append(record)
    parts = [skipped]
    if not by_model:
        parts.append('<p class="missing">No predictions recorded.</p>')
    if {"base", "tuned"} <= set(by_model):
        parts.append(_side_by_side(by_model["base"], by_model["tuned"]))
    for model in _in_model_order(by_model):
        rows = by_model[model]
        shown = rows[:EXAMPLES_PER_MODEL]
        parts.append(f"<h3>{escape(model)} "
                     f'<span class="meta">({len(shown)} of {len(rows)})</span></h3>')
        parts.append(table_html(["kind", "question", "gold", "prediction", "F1"],
                            (_example_row(r) for r in shown), numeric_from=4,
                            css_class="examples"))
    return "\n".join(p for p in parts if p)


def pick_examples(rows: Sequence[Mapping[str, Any]], n: int = SIDE_BY_SIDE) -> list[Any]:
    """``n`` rows in file order, answerable and unanswerable in proportion (at least one of
    each when both exist), so the table shows answering and abstaining."""
    answerable = [r for r in rows if any(str(a).strip() for a in r.get("answers") or [])]
    unanswerable = [r for r in rows if r not in answerable]
    k = round(n * len(unanswerable) / len(rows)) if rows else 0
    k = min(len(unanswerable), max(k, 1 if unanswerable else 0), n)
    chosen = {id(r) for r in answerable[: n - k] + unanswerable[:k]}
    return [r for r in rows if id(r) in chosen]


def _side_by_side(base: Sequence[Mapping[str, Any]], tuned: Sequence[Mapping[str, Any]]) -> str:
    """Question, context excerpt, reference, and the base and tuned answers, row by row."""
    tuned_by_id = {r.get("id"): r for r in tuned}
    pairs = [(b, tuned_by_id[b.get("id")]) for b in pick_examples(
        [r for r in base if r.get("id") in tuned_by_id])]
    rows = (
        "<tr>"
        f"<td>{escape(str(b.get('question') or ''))}</td>"
        f"<td>{escape(str(b.get('context') or ''))}</td>"
        f"<td>{_text_or_placeholder(_gold_text(b.get('answers')), '(no answer)')}</td>"
        f"<td>{_text_or_placeholder(str(b.get('generated') or ''), '(empty)')}</td>"
        f"<td>{_text_or_placeholder(str(t.get('generated') or ''), '(empty)')}</td>"
        "</tr>"
        for b, t in pairs)
    return (f"<h3>base and tuned side by side "
            f'<span class="meta">({len(pairs)} of {len(base)})</span></h3>'
            + table_html(["question", "context (start)", "reference", "base", "tuned"], rows,
                     numeric_from=5, css_class="examples"))


def _example_row(record: Mapping[str, Any]) -> str:
    f1 = record.get("f1")
    return (
        "<tr>"
        f"<td>{escape(str(record.get('kind') or ''))}</td>"
        f"<td>{escape(str(record.get('question') or ''))}</td>"
        f"<td>{_text_or_placeholder(_gold_text(record.get('answers')), '(no answer)')}</td>"
        f"<td>{_text_or_placeholder(str(record.get('prediction') or ''), '(empty)')}</td>"
        f"{cell(float(f1) if plots.is_number(f1) else None)}"
        "</tr>"
    )
