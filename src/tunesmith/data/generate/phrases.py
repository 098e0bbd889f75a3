"""Phrases on a spaCy parse, shared by the ``rules`` and ``cloze`` generators: a question
draft, the short core of a noun phrase (the span SQuAD annotators mark), an entity's text,
and tokens rendered back into a question."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Token

# children of the clause verb that are other clauses, not part of this one
OTHER_CLAUSE = {"cc", "conj", "advcl", "parataxis", "mark", "dep", "meta", "intj", "punct"}
PERSON_NOUNS = {
    "people", "person", "man", "woman", "men", "women", "king", "queen", "leader", "ruler",
    "duke", "count", "emperor", "pope", "bishop", "author", "scientist", "founder", "son",
    "daughter", "father", "mother", "wife", "husband", "brother", "sister", "child", "children",
    "mathematician", "president", "member", "soldier", "knight", "lord", "prince", "princess",
}
PRONOUNS = {"it", "they", "he", "she", "this", "these", "those", "that", "we", "you", "i",
            "them", "him", "her", "its", "their", "there", "which", "who", "what", "one"}
DATE_WORDS = re.compile(
    r"\d|centur|January|February|March|April|May|June|July|August|September|October|"
    r"November|December|spring|summer|autumn|winter|decade|year"
)


@dataclass(frozen=True)
class Draft:
    """A question about one sentence; the answer is ``doc.text[start:end]``."""

    question: str
    start: int
    end: int
    rule: str
    priority: int
    subject: bool = False  # the answer was the clause's subject: "Who <verb phrase>?"


def core_span(head: Token) -> tuple[int, int]:
    """Token range [i, j) of a noun phrase's short answer: modifiers and coordinated nouns,
    without the article, prepositional tails or relative clauses."""
    left = [head]
    for child in head.lefts:
        if child.dep_ not in ("det", "predet", "punct", "cc", "preconj") and child.tag_ != "WDT":
            left.extend(child.subtree)
    right = [head]
    for child in head.rights:
        if child.dep_ in ("conj", "cc") or (child.dep_ == "punct" and child.text == ","
                                            and any(c.dep_ == "conj" for c in head.rights)):
            right.extend(t for t in child.subtree if t.dep_ not in ("relcl", "acl"))
    start = min(t.i for t in left)
    end = max(t.i for t in right) + 1
    doc = head.doc
    while end > start + 1 and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc"):
        end -= 1
    if doc[start].lower_ in ("the", "a", "an") or doc[start].tag_ == "PRP$":
        start += 1
    return start, end


def entity_text(token: Token) -> str:
    """The text of the entity ``token`` is part of."""
    doc = token.doc
    start = token.i
    while start > 0 and doc[start].ent_iob_ == "I":
        start -= 1
    end = token.i + 1
    while end < len(doc) and doc[end].ent_iob_ == "I":
        end += 1
    return doc[start:end].text


def render(tokens: Sequence[Token]) -> str:
    """Tokens (possibly with gaps where a phrase was cut out) as one tidy line of text."""
    parts = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1].i if index + 1 < len(tokens) else None
        # a token whose neighbour was cut out keeps a space ("culture, such" -> "culture such")
        gap = following is not None and following != token.i + 1 and not token.whitespace_
        parts.append(token.text_with_ws + (" " if gap else ""))
    text = "".join(parts)
    text = " ".join(text.split())
    for before, after in ((" ,", ","), (",,", ","), (" 's", "'s"), ("( ", "("), (" )", ")")):
        text = text.replace(before, after)
    return text.strip(" ,;:-")
