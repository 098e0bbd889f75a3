"""Measurements in technical prose, for the ``rules`` generator: a number with its unit ("30 days",
"every 30 seconds", "64 MiB of memory", "three times") is asked for the way people ask about
one, by what it measures ("How long ...?", "How often ...?", "How much memory ...?", "How many
times ...?"), and the answer is the number with its unit. Counting the unit instead ("How many
days ...?", "How many MiB ...?") reads like no one's question."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Token

TIME_UNITS = {
    "millisecond", "milliseconds", "ms", "second", "seconds", "minute", "minutes", "hour",
    "hours", "day", "days", "week", "weeks", "month", "months", "year", "years",
}
SIZE_UNITS = {
    "byte", "bytes", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "kilobyte",
    "kilobytes", "megabyte", "megabytes", "gigabyte", "gigabytes", "terabyte", "terabytes",
}
REPEAT_UNITS = {"time", "times"}
UNITS = TIME_UNITS | SIZE_UNITS | REPEAT_UNITS
# the slots a measurement is asked about in: the object ("takes two minutes"), the complement
# of "be" ("is 12 hours"), an adverbial noun phrase ("copied every 30 seconds", "retried three
# times") and a duration after "for" ("readable for 30 days")
_ROLES = {"dobj", "attr", "npadvmod"}


def measure_span(unit: Token) -> tuple[int, int] | None:
    """Token range [i, j) of the measurement whose unit is ``unit``: its number, "every"
    before it when there is one, and the unit ("every 30 seconds"); None when ``unit`` is not a
    unit counted by a number."""
    if unit.lower_ not in UNITS:
        return None
    numbers = [c for c in unit.lefts if c.dep_ == "nummod" and c.like_num]
    if len(numbers) != 1 or numbers[0].i != unit.i - 1:
        return None
    start = numbers[0].i
    every = [c for c in unit.lefts if c.dep_ == "det" and c.lower_ == "every"]
    if every and every[0].i == start - 1:
        start -= 1
    return start, unit.i + 1


def measure_wh(unit: Token, role: str, prep: str | None) -> tuple[str, bool] | None:
    """(wh-phrase, whether the preposition goes with the answer) for a measurement in a clause
    slot, or None where people would not ask this way."""
    if role == "pobj":
        if prep != "for" or unit.lower_ not in TIME_UNITS:
            return None
    elif role not in _ROLES:
        return None
    word = unit.lower_
    if word in REPEAT_UNITS:
        return "How many times", False
    if word in TIME_UNITS:
        if any(c.lower_ == "every" for c in unit.lefts):
            return "How often", False
        return "How long", role == "pobj"
    # a size: "64 MiB of memory" -> "How much memory"; the complement of "be" -> "How large"
    of = [c for c in unit.rights if c.dep_ == "prep" and c.lower_ == "of"]
    objects = [c for o in of for c in o.children if c.dep_ == "pobj" and c.pos_ == "NOUN"]
    if objects and len(list(objects[0].subtree)) == 1:
        return f"How much {objects[0].lower_}", False
    if role == "attr":
        return "How large", False
    if role == "dobj":
        return "How much", False
    return None
