"""Identifiers in technical prose, for the ``rules`` generator: a name in code or configuration
(``server.node_id``, ``HL-4031``, ``BACKWARD``) is asked for by its type noun ("Which key ...?",
"In which version ...?"), and the answer is the name alone, without the type word."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tunesmith.data.generate.phrases import render

if TYPE_CHECKING:
    from spacy.tokens import Token

# an identifier in technical prose: a dotted, underscored or slashed name (server.node_id,
# harborlight_active_connections, HLP/2), a version (2.7), letters with digits (HL-4031,
# SHA-256) or an all-capitals word (BACKWARD)
CODE_LIKE = re.compile(r"\w[._/:]\w|_|[A-Za-z].*\d|\d.*[A-Za-z]|^[A-Z]{2,}$")
# prepositions that read better before "which <noun>" than stranded at the end
# ("In which version was ...?" rather than "Which version was ... introduced in?")
FRONT_PREPS = {"in", "before", "after", "since", "until", "from", "on", "at"}


def code_like(token: Token) -> bool:
    """Whether ``token`` reads as a name in code or configuration rather than a word."""
    if token.is_punct or len(token.text) < 2:
        return False
    return bool(CODE_LIKE.search(token.text)) or (token.pos_ == "PROPN" and token.text.islower())


def identifier_answer(head: Token, i: int, j: int) -> tuple[int, int, str] | None:
    """(answer start, answer end, type noun) when the phrase ``doc[i:j]`` names an identifier
    together with what kind of thing it is, which the answer leaves out and the question asks
    by: "the server.node_id key" -> ("server.node_id", "key"), "the hlctl quota command" ->
    ("hlctl quota", "command"), "the error code HL-4031" -> ("HL-4031", "error code"), "the
    metric harborlight_active_connections" -> ("harborlight_active_connections", "metric")."""
    doc = head.doc
    before = list(doc[i:head.i])
    if j != head.i + 1 or not before:
        return None
    if head.pos_ == "NOUN" and not code_like(head) and all(
        t.dep_ in ("compound", "amod", "nmod") and (code_like(t) or t.pos_ == "PROPN")
        for t in before
    ) and any(code_like(t) for t in before):
        return i, head.i, head.text
    if code_like(head) and all(
        t.dep_ in ("compound", "amod") and t.is_lower and t.is_alpha and not t.is_stop
        for t in before
    ):
        return head.i, j, render(before)
    return None


def which_phrase(noun: str, role: str, prep: str | None) -> tuple[str, bool]:
    """The wh-phrase asking for an identifier by its type noun, the preposition fronted when
    it reads better there."""
    if role == "pobj" and prep in FRONT_PREPS:
        return f"{prep.capitalize()} which {noun}", True
    return f"Which {noun}", False
