"""The data card: ``README.md`` in the Hugging Face dataset-card layout, beside the data.

YAML front matter (the Hub's metadata keys: language, license, task categories, size
category, the data files of each split) and Markdown sections for provenance, annotation
method, statistics, personal information and update history, as the seed asks: "Maintain
data cards documenting: Provenance, Annotation methodology, Update history".

The update history lives in ``card_history.json`` beside the card; every build or version
whose data content changed adds an entry (keyed by the SHA-256 of the split files, so
rewriting an unchanged card adds nothing).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from tunesmith import __version__
from tunesmith.config import RunConfig
from tunesmith.config.auto import is_auto
from tunesmith.errors import TunesmithError
from tunesmith.utils.hashing import sha256_file, sha256_json, sha256_tree
from tunesmith.utils.io import write_json_atomic, write_text_atomic
from tunesmith.utils.layout import RunLayout

SPLITS = ("train", "val", "test")
HISTORY = "card_history.json"
CARD = "README.md"
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))
# stats keys the card renders in their own sections; the rest goes to "Other statistics"
_KNOWN = {"counts", "kinds", "documents", "generated_by", "rejected", "skipped",
          "pii_redactions", "difficulty"}


def _size_category(n: int) -> str:
    return next((label for limit, label in _SIZE_CATEGORIES if n < limit), "n>10M")


def data_sha256(out_dir: Path) -> str:
    """Content hash of the split files: what the update history is keyed by."""
    return sha256_json({name: sha256_file(out_dir / f"{name}.jsonl") for name in SPLITS
                        if (out_dir / f"{name}.jsonl").exists()})


def read_history(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / HISTORY
    if not path.exists():
        return []
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TunesmithError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix or "
                             f"delete it to start a new history") from None
    return history if isinstance(history, list) else []


def record_history(out_dir: Path, event: str, records: int, note: str | None = None,
                   **extra: Any) -> list[dict[str, Any]]:
    """Append an entry when the data changed since the last one (or for a version event)."""
    history = read_history(out_dir)
    digest = data_sha256(out_dir)
    last = history[-1] if history else None
    if last is None or last.get("data_sha256") != digest or event == "version" or note:
        history.append({
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "event": event, "records": records, "data_sha256": digest,
            "tunesmith": __version__, "note": note or "", **extra,
        })
        write_json_atomic(out_dir / HISTORY, history)
    return history


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        if len(value) > 12 or any(isinstance(v, dict | list) for v in value):
            return [(prefix, f"{len(value)} items")]
        return [(prefix, ", ".join(str(v) for v in value))]
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    return [(prefix, value)]


def _front_matter(config: RunConfig, stats: dict[str, Any], total: int, out_dir: Path) -> str:
    card = config.data.card
    kinds = {k for by_split in stats.get("kinds", {}).values() for k in by_split}
    reviewed = bool(stats.get("review"))
    meta: dict[str, Any] = {
        "pretty_name": card.pretty_name or config.name,
        "language": list(card.language),
        "license": card.license,
        "task_categories": ["question-answering"],
        "task_ids": ["extractive-qa"],
        "size_categories": [_size_category(total)],
        "annotations_creators": ["machine-generated"] + (["expert-generated"] if reviewed
                                                         else []),
        "language_creators": ["found"],
        "multilinguality": ["monolingual"],
        "source_datasets": (["extended|squad_v2"] if any(
            s.kind == "squad" for s in config.data.sources) else ["original"]),
        "tags": ["tunesmith", "context-grounded-qa"] + (["unanswerable-questions"]
                                                        if "unanswerable" in kinds else []),
        "configs": [{"config_name": "default", "data_files": [
            {"split": "validation" if name == "val" else name, "path": f"{name}.jsonl"}
            for name in SPLITS if (out_dir / f"{name}.jsonl").exists()]}],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _provenance(config: RunConfig, stats: dict[str, Any]) -> str:
    rows = []
    for source in config.data.sources:
        path = config.resolve(source.path)
        digest = sha256_tree(path)[:12] if path.exists() else "(missing)"
        kind = source.kind if not is_auto(source.kind) or path.is_file() else \
            "folder: " + ", ".join(source.kinds)
        rows.append([f"`{source.path}`", kind, digest])
    docs = stats.get("documents", {})
    text = [_table(["source", "kind", "sha256 (12)"], rows), ""]
    if docs:
        text.append("Documents per split (split by document, so no document is in two "
                    "splits): " + ", ".join(f"{k} {v}" for k, v in docs.items()) + ".")
    skipped = stats.get("skipped") or []
    if skipped:
        text += ["", f"{len(skipped)} file(s) or line(s) were skipped at ingest:", "",
                 _table(["path", "line", "reason"],
                        [[s.get("path"), s.get("line") or "", s.get("reason")]
                         for s in skipped[:30]])]
    return "\n".join(text)


def _section_yaml(config: RunConfig, names: list[str]) -> str:
    parts = []
    for name in names:
        section = getattr(config.data, name, None)
        if section is not None and hasattr(section, "model_dump"):
            dumped = yaml.safe_dump({name: section.model_dump(mode="json")}, sort_keys=False)
            parts.append(dumped.rstrip())
    return "```yaml\n" + "\n".join(parts) + "\n```" if parts else ""


def _annotation(config: RunConfig, stats: dict[str, Any]) -> str:
    generator = config.data.generate.generator
    lines = [
        f"Questions were generated by machine, by the `{generator}` generator of tunesmith "
        f"{__version__}, from the source documents after chunking into contexts; every "
        "answer is a verified span of its context. Unanswerable, adversarial and multi-hop "
        "records were constructed as configured below, then filtered by automatic quality "
        "control (near-duplicate removal, question-context similarity, answer-span checks, "
        "PII scan, cross-split leakage); each dropped record is listed with its stage and "
        "reason in `rejected.jsonl`.",
    ]
    generated = stats.get("generated_by")
    if generated:
        rows = sorted({(split, how, n) for split, by in generated.items() for how, n in
                       by.items()})
        lines += ["", "Records by generator, rule or augmentation:", "",
                  _table(["split", "made by", "records"], [list(r) for r in rows])]
    review = stats.get("review")
    if review:
        lines += ["", "Human review rounds:", "",
                  _table(["key", "value"], [list(r) for r in _flatten(review)])]
    else:
        lines += ["", "No human review round has been imported for this version."]
    settings = _section_yaml(config, ["generate", "mix", "augment", "quality", "review",
                                      "balance"])
    if settings:
        lines += ["", "Settings used:", "", settings]
    return "\n".join(lines)


def _statistics(stats: dict[str, Any]) -> str:
    counts = stats.get("counts", {})
    kinds = stats.get("kinds", {})
    all_kinds = sorted({k for by in kinds.values() for k in by})
    rows = [[split, n, *(kinds.get(split, {}).get(k, 0) for k in all_kinds)]
            for split, n in counts.items()]
    text = [_table(["split", "records", *all_kinds], rows)]
    if "rejected" in stats:
        rejected = stats["rejected"]
        n = rejected if isinstance(rejected, int) else len(rejected)
        text += ["", f"Records rejected by construction and quality control: {n}."]
    other = [(k, v) for key, value in stats.items() if key not in _KNOWN
             for k, v in _flatten(value, key)]
    if other:
        text += ["", "### Other statistics", "", _table(["statistic", "value"],
                                                        [list(r) for r in other[:80]])]
    return "\n".join(text)


def _pii(config: RunConfig, stats: dict[str, Any]) -> str:
    pii = config.data.pii
    counts = stats.get("pii_redactions") or {}
    if not pii.enabled:
        return ("PII redaction was off (`data.pii.enabled: false`): the documents were used "
                "as they are. Enable it for support tickets or any text about people.")
    text = [f"Documents were redacted with Presidio before any question was generated "
            f"(mode `{pii.mode}`; per entity: {dict(pii.per_entity) or 'none'}; score "
            f"threshold {pii.score_threshold}). Entity types: {', '.join(pii.detected())}."]
    if counts:
        text += ["", _table(["entity type", "replacements"], [[k, v] for k, v in
                                                              counts.items()])]
    else:
        text += ["", "No PII was found."]
    return "\n".join(text)


def _history(history: list[dict[str, Any]]) -> str:
    if not history:
        return "No entries yet."
    return _table(["date", "event", "records", "data sha256 (12)", "tunesmith", "note"],
                  [[h.get("date"), h.get("event"), h.get("records"),
                    str(h.get("data_sha256", ""))[:12], h.get("tunesmith"),
                    h.get("note") or h.get("dvc_md5", "")] for h in history])


def write_data_card(out_dir: Path, stats: dict[str, Any], config: RunConfig, *,
                    event: str = "build", note: str | None = None,
                    extra_sections: dict[str, str] | None = None) -> Path:
    """Write ``out_dir/README.md``, the data card; returns its path.

    ``out_dir`` is the built data folder (``runs/<name>/data``: the split files are read
    for hashes and listed in the front matter). ``stats`` is the build's statistics dict
    (``stats.json``): ``counts`` / ``kinds`` / ``documents`` / ``generated_by`` per split,
    ``rejected``, ``skipped`` (ingest skips), ``pii_redactions``; an optional ``review``
    dict, and any other keys, are rendered generically. ``event`` names the update-history
    entry ("build", "card", "version"); ``extra_sections`` maps a heading to Markdown
    appended before the history (e.g. a data-report summary). Call it at the end of the
    build, after ``stats.json`` is final.
    """
    out_dir = Path(out_dir)
    total = sum(int(v) for v in stats.get("counts", {}).values())
    history = record_history(out_dir, event, total, note)
    name = config.data.card.pretty_name or config.name
    description = config.data.card.description or (
        f"Question-answering records built by tunesmith from the documents listed under "
        f"Provenance, for fine-tuning a model to answer from a context and to abstain when "
        f"the context is not enough. {total} records.")
    sections = [
        _front_matter(config, stats, total, out_dir),
        f"# Dataset Card for {name}\n",
        f"## Dataset Description\n\n{description}\n",
        "## Dataset Structure\n\nOne JSON object per line (`QARecord`): `id`, `question`, "
        "`contexts` (the context(s) shown to the model), `answer` (`null` when the context "
        "cannot answer), `answer_start` (character offset in `contexts[0]`), `alt_answers`, "
        "`kind` (answerable, unanswerable, adversarial, multihop, ambiguous), `difficulty` "
        "(simple, inferential, multihop), `source_doc_ids` and `provenance`.\n",
        f"## Provenance\n\n{_provenance(config, stats)}\n",
        f"## Annotation method\n\n{_annotation(config, stats)}\n",
        f"## Statistics\n\n{_statistics(stats)}\n",
        f"## Personal and Sensitive Information\n\n{_pii(config, stats)}\n",
        *(f"## {title}\n\n{body.strip()}\n" for title, body in (extra_sections or {}).items()),
        f"## Update history\n\n{_history(history)}\n",
        f"## Licensing\n\nLicense: `{config.data.card.license}`. The records quote the source "
        "documents; their license applies to the records too.\n",
    ]
    path = out_dir / CARD
    write_text_atomic(path, "\n".join(sections))
    return path


def write_card_for_run(config: RunConfig, event: str = "card", note: str | None = None) -> Path:
    """(Re)write the card of a built run from its ``stats.json``."""
    out_dir = RunLayout.of(config).data_dir
    stats_path = out_dir / "stats.json"
    if not stats_path.exists():
        raise TunesmithError(f"{stats_path}: not found; run `tunesmith data build` first")
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TunesmithError(f"{stats_path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return write_data_card(out_dir, stats, config, event=event, note=note)
