"""The one text format every context has, in training and at inference.

A model fine-tuned on contexts in one shape and queried with another loses much of what it
learned: adapters trained on the data build's flat, heading-free chunks scored F1 22 on human
questions whose contexts kept their markdown heading and hard line wraps, and 48 once those
contexts were flattened the same way (issue 11, third trial). So the data build and every
prompt (``models.chat.build_messages``) go through :func:`normalize_context`.
"""

from __future__ import annotations

import re
import string

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_INLINE = re.compile(r"(`+|\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_BLANK_LINE = re.compile(r"\n\s*\n")
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)
HEADING_PREFIX = "# "  # markdown_to_text's heading paragraphs, which paragraphs() drops


def markdown_to_text(text: str) -> tuple[str, str]:
    """Strip Markdown markup that would leak into answers; returns (title, text).

    Headings become their own paragraphs (so that :func:`paragraphs` drops them), list
    bullets and inline code/emphasis markers go, link text stays.
    """
    title = ""
    lines: list[str] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            title = title or heading.group(1).strip()
            lines.extend(["", f"{HEADING_PREFIX}{heading.group(1).strip()}", ""])
            continue
        line = _BULLET.sub("", line)
        line = _LINK.sub(r"\1", line)
        lines.append(_INLINE.sub("", line))
    return title, "\n".join(lines)


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks with their hard line wraps joined; headings dropped
    (they are titles, not text a question is answered from)."""
    found = []
    for block in _BLANK_LINE.split(text):
        block = " ".join(line.strip() for line in block.splitlines() if line.strip())
        if block and not block.startswith(HEADING_PREFIX):
            found.append(block)
    return found


def normalize_context(text: str) -> str:
    """What the data build does to a document's text, applied to any context: markdown
    markup and headings out, hard wraps joined, paragraphs on one line. Idempotent, so a
    context that came out of the build passes through unchanged."""
    return " ".join(paragraphs(markdown_to_text(text)[1]))


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (the official SQuAD
    2.0 script's normalisation; the metrics and the data build's answer checks share it)."""
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())
