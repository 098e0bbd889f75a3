"""Hand-written question sets (heldout/, calibration/) to SQuAD 2.0 JSON: each context is one
``## `` section of a document as a user would paste it (its heading first, hard line wraps
kept); a question whose answer is None is on topic, but the section does not answer it. Each
folder's ``build_questions.py`` holds the questions and calls :func:`write_questions`."""

from __future__ import annotations

import json
import re
from pathlib import Path

Questions = dict[tuple[str, str], list[tuple[str, str | None]]]


def sections(path: Path) -> dict[str, str]:
    """'## Title' -> the section as pasted: the heading line and its hard-wrapped text."""
    found: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=## )", path.read_text(encoding="utf-8")):
        if block.startswith("## "):
            found[block.splitlines()[0][3:].strip()] = block.strip()
    return found


def write_questions(folder: Path, questions: Questions, title: str) -> None:
    """Write ``folder/questions.json``; an answer not found in its section, or an id used
    twice, stops with the document and section named."""
    paragraphs = []
    ids: set[str] = set()
    for (doc, section), asked in questions.items():
        context = sections(folder / doc)[section]
        qas = []
        for i, (question, answer) in enumerate(asked):
            qa: dict = {"id": f"{Path(doc).stem}/{section}/{i}".replace(" ", "-").lower(),
                        "question": question, "is_impossible": answer is None, "answers": []}
            if qa["id"] in ids:
                raise SystemExit(f"duplicate id {qa['id']!r}")
            ids.add(qa["id"])
            if answer is not None:
                start = context.find(answer)
                if start < 0:
                    raise SystemExit(f"{doc} / {section}: answer {answer!r} not in the section")
                qa["answers"] = [{"text": answer, "answer_start": start}]
            qas.append(qa)
        paragraphs.append({"context": context, "qas": qas})
    data = {"version": "v2.0", "data": [{"title": title, "paragraphs": paragraphs}]}
    out = folder / "questions.json"
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    n = sum(len(p["qas"]) for p in paragraphs)
    none = sum(qa["is_impossible"] for p in paragraphs for qa in p["qas"])
    print(f"{out}: {n} questions ({none} unanswerable) over {len(paragraphs)} sections")
