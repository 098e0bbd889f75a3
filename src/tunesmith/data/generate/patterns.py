"""``patterns``: an offline question generator over declarative sentences, by regex.

Each pattern matches one sentence shape ("X defaults to Y.", "X listens on port N.", "X was
released in Y.", "X is Y.") and turns it into a question whose answer is an exact span of the
context. It needs no model at all, so it runs anywhere; it is precise on technical
documentation (the quickstart) and silent on most other prose. The ``rules`` generator
(rules.py) asks questions of any sentence from a spaCy parse and uses these patterns too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tunesmith.data.chunk import Context, split_sentences
from tunesmith.data.generate.base import GENERATORS, span_record, spread
from tunesmith.data.schema import QARecord

if TYPE_CHECKING:
    from tunesmith.config.data_gen import GenerateConfig

_LOWER_FIRST = {"The", "A", "An", "Each", "Every", "Its", "Their", "All", "Any", "No"}
_PRONOUNS = {"it", "this", "that", "these", "those", "they", "there", "he", "she", "we", "you"}
# a subject starting with one of these is a sentence fragment ("and replicas are ...")
_FRAGMENT_START = {"and", "or", "but", "so", "then", "if", "when", "because", "which", "to"}
_VERB_WORDS = {"is", "are", "was", "were", "has", "have", "had", "can", "must", "will"}
# first words of a copula complement that make "What is X?" read wrongly
_NOT_A_DEFINITION = re.compile(
    r"\w+(ed|en|wn)|not|also|only|always|never|usually|typically|currently|still|now|"
    r"available|enabled|disabled|supported|required|optional|possible|sent|kept|spread|held|"
    r"made|run|set|put|read|built|used|officially|safe|free"
)
_CLAUSE_BREAK = re.compile(r",\s|;\s|\s(?:because|which|so that|while|unless|although|but)\s")
_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Q[1-4])\b"
)
_MAX_ANSWER_WORDS = 10
_MAX_SUBJECT_WORDS = 12

_VERBS = (
    "listens on|runs on|uses|stores|supports|requires|writes|reads|sends|keeps|retains|"
    "accepts|exposes|includes|provides|creates|replicates|compresses|encrypts|rejects|limits|"
    "allows|contains|returns|enables|disables|deletes|removes|checks|records|emits|ships with|"
    "prints|reports|measures|stands for|means|caps|needs|starts|stops|holds"
)


@dataclass(frozen=True)
class Draft:
    rule: str
    question: str
    answer: str
    offset: int  # answer offset inside the sentence


def _subject(text: str) -> str | None:
    text = text.strip()
    if ", " in text:  # "By default, the broker ..." -> "the broker"
        text = text.rsplit(", ", 1)[1]
    words = text.split()
    if not words or len(words) > _MAX_SUBJECT_WORDS:
        return None
    if words[0].lower() in _PRONOUNS or words[0] in _FRAGMENT_START:
        return None
    if any(w in _VERB_WORDS for w in words):  # "the client is published as X and" is no subject
        return None
    if words[0] in _LOWER_FIRST:
        words[0] = words[0].lower()
    return " ".join(words)


def _trim_answer(sentence: str, start: int) -> tuple[int, int] | None:
    """The answer span from ``start``: cut at the first clause break, at most N words."""
    rest = sentence[start:]
    cut = _CLAUSE_BREAK.search(rest)
    end = start + (cut.start() if cut else len(rest))
    answer = sentence[start:end].rstrip(" .")
    for tail in (" by default", " per second", " at most"):
        if answer.endswith(tail) and len(answer) > len(tail):
            answer = answer[: -len(tail)]
    if not answer or len(answer.split()) > _MAX_ANSWER_WORDS:
        return None
    return start, start + len(answer)


def _base_verb(verb: str) -> str:
    first, _, rest = verb.partition(" ")
    if re.search(r"(ch|sh|ss|x|z)es$", first):
        first = first[:-2]
    elif first.endswith("s"):
        first = first[:-1]
    return f"{first} {rest}".strip()


Rule = Callable[[str], Iterator[Draft]]


def _port_rule(s: str) -> Iterator[Draft]:
    m = re.match(rf"^(?P<subj>.+?) (?P<verb>{_VERBS}) port (?P<ans>\d+)", s)
    if m and (subj := _subject(m["subj"])):
        q = f"Which port does {subj} {_base_verb(m['verb'])}?"
        yield Draft("port", q, m["ans"], m.start("ans"))


def _default_rule(s: str) -> Iterator[Draft]:
    m = re.match(r"^(?P<subj>.+?) defaults to (?P<ans>.+)$", s)
    if m and (subj := _subject(m["subj"])) and (span := _trim_answer(s, m.start("ans"))):
        yield Draft("default", f"What does {subj} default to?", s[span[0] : span[1]], span[0])


def _passive_rule(s: str) -> Iterator[Draft]:
    m = re.match(
        r"^(?P<subj>.+?) (?P<be>is|are|was|were) (?P<part>\w+(?:ed|en|wn|lt|pt|ld)) "
        r"(?P<prep>in|at|under|inside|on) (?P<ans>.+)$",
        s,
    )
    if not m or not (subj := _subject(m["subj"])):
        return
    span = _trim_answer(s, m.start("ans"))
    if not span:
        return
    answer = s[span[0] : span[1]]
    head = f"{m['be']} {subj} {m['part']}"
    if answer.lower().startswith("version"):
        question = f"In which version {head}?"
    elif _DATE.search(answer):
        question = f"When {head}?"
    elif m["prep"] in ("in", "under", "inside", "at"):
        question = f"Where {head}?"
    else:
        return
    yield Draft("passive", question[0].upper() + question[1:], answer, span[0])


def _verb_rule(s: str) -> Iterator[Draft]:
    m = re.match(rf"^(?P<subj>.+?) (?P<verb>{_VERBS}) (?P<ans>.+)$", s)
    if m and (subj := _subject(m["subj"])) and (span := _trim_answer(s, m.start("ans"))):
        q = f"What does {subj} {_base_verb(m['verb'])}?"
        yield Draft("verb", q, s[span[0] : span[1]], span[0])


def _copula_rule(s: str) -> Iterator[Draft]:
    m = re.match(r"^(?P<subj>.+?) (?P<be>is|are|was|were) (?P<ans>.+)$", s)
    if not m or not (subj := _subject(m["subj"])):
        return
    first = m["ans"].split()[0].lower()
    if _NOT_A_DEFINITION.fullmatch(first):
        return  # passive or negated: a "what is" question would read wrongly
    if span := _trim_answer(s, m.start("ans")):
        q = f"What {m['be']} {subj}?"
        yield Draft("copula", q, s[span[0] : span[1]], span[0])


RULES: tuple[Rule, ...] = (_port_rule, _default_rule, _passive_rule, _verb_rule, _copula_rule)


def drafts_for_sentence(sentence: str) -> list[Draft]:
    """Every question the rules can ask of one sentence (first matching rule per shape)."""
    body = sentence.strip().rstrip(".")
    if not body or sentence.strip()[-1:] != "." or "?" in body:
        return []
    drafts: list[Draft] = []
    for rule in RULES:
        drafts.extend(rule(body))
        if drafts:
            break  # the most specific rule wins
    return drafts


def sentence_drafts(text: str) -> Iterator[tuple[int, Draft]]:
    """(sentence offset in ``text``, draft) for every sentence the patterns can ask about."""
    cursor = 0
    for sentence in split_sentences(text):
        sent_start = text.find(sentence, cursor)
        if sent_start < 0:
            continue
        cursor = sent_start + len(sentence)
        for draft in drafts_for_sentence(sentence):
            yield sent_start, draft


@GENERATORS.register("patterns")
class PatternGenerator:
    """Declarative-sentence patterns; each answer span is verified against the context."""

    def __init__(
        self, config: GenerateConfig | None = None, *, cache_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        del config, cache_dir, seed  # nothing to configure: the patterns are fixed

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]:
        records: list[QARecord] = []
        seen: set[str] = set()
        for sent_start, draft in sentence_drafts(context.text):
            start = sent_start + draft.offset
            if context.text[start : start + len(draft.answer)] != draft.answer:
                continue  # verified span or nothing
            key = draft.question.lower()
            if key in seen:
                continue
            seen.add(key)
            record = span_record(context, draft.question, draft.answer, start, "patterns",
                                 rule=draft.rule)
            if record is not None:
                records.append(record)
        return spread(records, limit)
