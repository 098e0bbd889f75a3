"""Small HTML pieces of the run report: cells, tables, notes, images, lenient readers.

Shared by report/html.py and the data report; they escape what they are given.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from tunesmith.report import plots
from tunesmith.utils.io import read_json

MISSING = "—"


def read_json_or_note(path: Path) -> tuple[Any, str | None]:
    """(content, None), or (None, a note) when the file is missing or damaged."""
    if not path.is_file():
        return None, None
    try:
        return read_json(path), None
    except (OSError, ValueError) as exc:  # DataFileError and UnicodeDecodeError are ValueErrors
        return None, f"could not read {path.name}: {exc}"


def read_jsonl_lenient(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The JSON objects of a JSON Lines file and the numbers of the lines that were not."""
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    # errors="replace": one mis-encoded byte should cost one line, not the whole section.
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad.append(number)
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                bad.append(number)
    return rows, bad


# -- small HTML pieces -----------------------------------------------------------------------


def not_run(what: str, relative: str) -> str:
    where = f"<code>{escape(relative)}</code>"
    return f'<p class="missing">{escape(what)} not run yet (no {where}).</p>'


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def skipped_lines_note(relative: str, bad: Sequence[int]) -> str:
    if not bad:
        return ""
    shown = ", ".join(str(n) for n in bad[:10]) + (", …" if len(bad) > 10 else "")
    noun = "line" if len(bad) == 1 else "lines"
    return note(f"Skipped {len(bad)} malformed {noun} of {relative} (line {shown}).")


def image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def format_value(value: Any) -> str:
    """A cell's text (not yet escaped): ints as counts, floats to 2 decimals, others as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not plots.is_number(value):
            return str(value)
        if value != 0 and (abs(value) < 0.01 or abs(value) >= 1e9):
            return f"{value:.3g}"  # learning rates, FLOP counts
        return f"{value:,.2f}"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(format_value(v) for v in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def cell(value: Any, extra_class: str = "") -> str:
    classes = " ".join(c for c in ("num" if plots.is_number(value) else "", extra_class) if c)
    attr = f' class="{classes}"' if classes else ""
    text = MISSING if value is None else format_value(value)
    return f"<td{attr}>{escape(text)}</td>"


def table_html(header: Sequence[str], rows: Iterable[str], numeric_from: int = 1,
           css_class: str = "") -> str:
    heads = "".join(
        f'<th class="num">{escape(h)}</th>' if i >= numeric_from else f"<th>{escape(h)}</th>"
        for i, h in enumerate(header)
    )
    attr = f' class="{css_class}"' if css_class else ""
    return f"<table{attr}><thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def load_section_jsonl(
    run_dir: Path, relative: str, stage: str
) -> tuple[list[dict[str, Any]], str] | str:
    """(records, note on skipped lines), or the HTML to show instead when there is no file."""
    path = run_dir / relative
    if not path.is_file():
        return not_run(stage, relative)
    try:
        records, bad = read_jsonl_lenient(path)
    except OSError as exc:
        return note(f"could not read {relative}: {exc}")
    return records, skipped_lines_note(relative, bad)
