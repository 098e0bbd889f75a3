"""An offline, rule-based question generator over declarative sentences.

Each rule matches one sentence shape ("X defaults to Y.", "X listens on port N.", "X was
released in Y.", "X is Y.") and turns it into a question whose answer is an exact span of the
context. It needs no model and no network, so it runs anywhere; the dataset-factory issue adds a
spaCy-based generator and LLM backends beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tunesmith.data.chunk import Context, split_sentences
from tunesmith.data.generate.base import GENERATORS
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes

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


@GENERATORS.register("rules")
class RuleGenerator:
    """Declarative-sentence rules; each answer span is verified against the context."""

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]:
        records: list[QARecord] = []
        seen: set[str] = set()
        cursor = 0
        for sentence in split_sentences(context.text):
            sent_start = context.text.find(sentence, cursor)
            if sent_start < 0:
                continue
            cursor = sent_start + len(sentence)
            for draft in drafts_for_sentence(sentence):
                start = sent_start + draft.offset
                if context.text[start : start + len(draft.answer)] != draft.answer:
                    continue  # verified span or nothing
                key = draft.question.lower()
                if key in seen:
                    continue
                seen.add(key)
                records.append(
                    QARecord(
                        id="q_" + sha256_bytes(f"{context.id}|{draft.question}".encode())[:12],
                        question=draft.question,
                        contexts=[context.text],
                        answer=draft.answer,
                        answer_start=start,
                        kind="answerable",
                        difficulty="simple",
                        source_doc_ids=[context.doc_id],
                        provenance={
                            "generator": "rules",
                            "rule": draft.rule,
                            "context_id": context.id,
                        },
                    )
                )
        return _spread(records, limit)


def _spread(records: list[QARecord], limit: int) -> list[QARecord]:
    """Keep at most ``limit`` records, spread over the context rather than its first lines."""
    if len(records) <= limit:
        return records
    step = len(records) / limit
    return [records[int(i * step)] for i in range(limit)]
