"""Checkers of verifiable instructions, in the manner of IFEval (Zhou et al., 2023).

Each checker is a function ``(reply, **args) -> bool`` registered by name in :data:`CHECKERS`;
an instruction of ``data/instructions.json`` names one and gives its arguments. IFEval's own
checks are the model (``detectable_format:number_bullet_lists``,
``startend:end_checker``, ``change_case:english_capital`` ...); the prompts and this code are
tunesmith's. Like IFEval's "loose" variant, a reply is first stripped of surrounding whitespace
and of a Markdown code fence around JSON; otherwise the checks are strict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tunesmith.registry import Registry

Checker = Callable[..., bool]
CHECKERS: Registry[Checker] = Registry("instruction checker")

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_BULLET = re.compile(r"^\s*[*\-•]\s+\S")
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+\S")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)
_TRAILING = " \t\n.!*\"'"  # closing punctuation a reply may put after the word it must end on


def words(reply: str) -> list[str]:
    """The reply's words (letters and digits, with an apostrophe suffix: "don't" is one)."""
    return _WORD.findall(reply)


def _has_word(reply: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", reply,
                     flags=re.IGNORECASE) is not None


@CHECKERS.register("all_capitals")
def all_capitals(reply: str) -> bool:
    """Every letter is a capital (and there are letters)."""
    letters = [c for c in reply if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


@CHECKERS.register("all_lowercase")
def all_lowercase(reply: str) -> bool:
    """No capital letter (and there are letters)."""
    letters = [c for c in reply if c.isalpha()]
    return bool(letters) and not any(c.isupper() for c in letters)


@CHECKERS.register("bullet_count")
def bullet_count(reply: str, n: int) -> bool:
    """Exactly ``n`` lines are Markdown bullets (``*``, ``-`` or ``•`` then a space)."""
    return sum(1 for line in reply.splitlines() if _BULLET.match(line)) == n


@CHECKERS.register("numbered_count")
def numbered_count(reply: str, n: int) -> bool:
    """Exactly ``n`` numbered lines (``1.`` or ``1)``), numbered 1 to ``n`` in order."""
    numbers = [int(m.group(1)) for line in reply.splitlines() if (m := _NUMBERED.match(line))]
    return numbers == list(range(1, n + 1))


@CHECKERS.register("ends_with")
def ends_with(reply: str, phrase: str) -> bool:
    """The reply's last words are ``phrase`` (closing punctuation after it allowed)."""
    return reply.strip().rstrip(_TRAILING).endswith(phrase)


@CHECKERS.register("starts_with")
def starts_with(reply: str, phrase: str) -> bool:
    """The reply begins with ``phrase`` (case-sensitive)."""
    return reply.strip().lstrip("*\"' ").startswith(phrase)


@CHECKERS.register("max_words")
def max_words(reply: str, n: int) -> bool:
    """Fewer than ``n`` words, and at least one."""
    return 0 < len(words(reply)) < n


@CHECKERS.register("min_words")
def min_words(reply: str, n: int) -> bool:
    """At least ``n`` words."""
    return len(words(reply)) >= n


@CHECKERS.register("single_word")
def single_word(reply: str) -> bool:
    """Exactly one word (closing punctuation allowed)."""
    return len(words(reply)) == 1


@CHECKERS.register("includes_keywords")
def includes_keywords(reply: str, keywords: list[str]) -> bool:
    """Every keyword appears as a whole word (any case)."""
    return all(_has_word(reply, k) for k in keywords)


@CHECKERS.register("excludes_words")
def excludes_words(reply: str, forbidden: list[str]) -> bool:
    """No forbidden word appears as a whole word (any case), and the reply is not empty."""
    return bool(words(reply)) and not any(_has_word(reply, w) for w in forbidden)


@CHECKERS.register("keyword_count")
def keyword_count(reply: str, keyword: str, n: int) -> bool:
    """``keyword`` appears as a whole word at least ``n`` times (any case)."""
    found = re.findall(rf"(?<![A-Za-z0-9]){re.escape(keyword)}(?![A-Za-z0-9])", reply,
                       flags=re.IGNORECASE)
    return len(found) >= n


@CHECKERS.register("json_keys")
def json_keys(reply: str, keys: list[str]) -> bool:
    """The reply (or the code fence it is wrapped in) is a JSON object with exactly ``keys``."""
    text = reply.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and sorted(value) == sorted(keys)


@CHECKERS.register("no_commas")
def no_commas(reply: str) -> bool:
    """Not a single comma (and not empty)."""
    return bool(words(reply)) and "," not in reply


@CHECKERS.register("wrapped_in_quotes")
def wrapped_in_quotes(reply: str) -> bool:
    """The whole reply sits inside one pair of double quotation marks."""
    text = reply.strip()
    return len(text) > 2 and text[0] in "\"“" and text[-1] in "\"”"


@CHECKERS.register("title_in_brackets")
def title_in_brackets(reply: str) -> bool:
    """Contains a title in double angular brackets, like <<a title>> (IFEval's form)."""
    return re.search(r"<<[^<>\n]+>>", reply) is not None


@CHECKERS.register("postscript")
def postscript(reply: str, marker: str = "P.S.") -> bool:
    """A postscript: a line that starts with ``marker``, after some other text."""
    lines = [line.strip() for line in reply.strip().splitlines()]
    return any(line.startswith(marker) for line in lines[1:]) or (
        marker in reply and reply.strip().index(marker) > 0)


@CHECKERS.register("placeholder_count")
def placeholder_count(reply: str, n: int) -> bool:
    """At least ``n`` placeholders in square brackets, like [name]."""
    return len(re.findall(r"\[[^\[\]\n]+\]", reply)) >= n


@CHECKERS.register("paragraph_count")
def paragraph_count(reply: str, n: int, separator: str = "***") -> bool:
    """Exactly ``n`` non-empty paragraphs separated by ``separator`` lines (IFEval's form)."""
    parts = [p for p in reply.split(separator) if p.strip()]
    return len(parts) == n and reply.count(separator) == n - 1


@CHECKERS.register("highlight_count")
def highlight_count(reply: str, n: int) -> bool:
    """At least ``n`` sections highlighted in Markdown, like *this part* (IFEval's form)."""
    spans = re.findall(r"(?<!\*)\*(?!\*)([^*\n]+)(?<!\s)\*(?!\*)", reply)
    return len([s for s in spans if s.strip()]) >= n


@CHECKERS.register("repeats_prompt")
def repeats_prompt(reply: str, text: str) -> bool:
    """The reply first repeats ``text`` word for word (any case), then adds something."""
    head = reply.strip().lower()
    return head.startswith(text.lower()) and len(head) > len(text) + 1


def check(name: str, reply: str, args: dict[str, Any]) -> bool:
    """Run the checker ``name`` on ``reply`` with the instruction's arguments."""
    return CHECKERS.get(name)(reply.strip(), **args)
