"""Adversarial questions: misleading but related to the context, and not answerable from it.

seed: "10% adversarial questions (misleading but context-related)". SQuAD 2.0's annotators
wrote such questions by changing an answerable one just enough that the context no longer
answers it; three of their edits are made here, on a question generated from the same
context (answer null, kind ``adversarial``):

* **entity swap**: a named entity of the question is replaced by another entity of the same
  type from the corpus that the context does not mention ("When did William lead the
  conquest?" -> "When did Robert Guiscard lead the conquest?"); a year is moved to a year the
  context does not hold;
* **antonym**: a word is replaced by its opposite ("first" -> "last", "north" -> "south")
  when the context does not hold the opposite; failing that, an adjective or participle of
  the question that the context uses is negated with "un-" ("the set of all connected graphs"
  -> "the set of all unconnected graphs"), the edit SQuAD 2.0's annotators made most often
  after entity swaps;
* **negation**: "not" after the question's auxiliary ("Who were famed for ..." -> "Who were
  not famed for ...") when the answer's sentence holds no negation.

These are heuristics: a swapped entity or an opposite can, rarely, still be answerable from
the context; the span check and the human review rounds are where such records are caught.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence

from tunesmith.data.nlp import parse
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes

_SWAP_LABELS = {"PERSON", "GPE", "LOC", "ORG", "NORP", "FAC", "EVENT", "PRODUCT",
                "WORK_OF_ART", "LAW", "LANGUAGE"}
_ANTONYMS = {
    "first": "last", "last": "first", "largest": "smallest", "smallest": "largest",
    "north": "south", "south": "north", "east": "west", "west": "east", "northern": "southern",
    "southern": "northern", "eastern": "western", "western": "eastern", "before": "after",
    "after": "before", "early": "late", "late": "early", "earliest": "latest",
    "latest": "earliest", "most": "least", "least": "most", "highest": "lowest",
    "lowest": "highest", "more": "less", "less": "more", "begin": "end", "began": "ended",
    "increase": "decrease", "increased": "decreased", "upper": "lower", "lower": "upper",
    "major": "minor", "minor": "major", "win": "lose", "won": "lost", "lost": "won",
    "easy": "hard", "hard": "easy", "fast": "slow", "slow": "fast", "strong": "weak",
    "weak": "strong", "old": "new", "new": "old", "open": "closed", "maximum": "minimum",
    "minimum": "maximum", "deterministic": "non-deterministic", "allow": "forbid",
}
# adjectives that take a negating prefix ("connected", "solvable", "formal", "useful", ...)
_ADJECTIVE_ENDINGS = ("ed", "able", "ible", "al", "ful", "ive", "ic", "ous", "ent", "ant")
_NEGATING_PREFIXES = ("un", "in", "im", "ir", "il", "non", "dis", "anti")
_AUX = re.compile(
    r"^(?P<wh>(?:Who|What|When|Where|Which|How many|How much|Why|How)(?: \w+)?) "
    r"(?P<aux>did|does|do|was|were|is|are|can|could|has|have|had|would|will|should|must) "
)
_NEGATION = re.compile(r"\b(not|never|no|n't|neither|nor)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def _contains(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text, re.IGNORECASE) is not None


def entity_inventory(texts: Sequence[str]) -> dict[str, list[str]]:
    """Named entities of the corpus by type, each once, in a stable order."""
    inventory: dict[str, dict[str, None]] = defaultdict(dict)
    for doc in parse(texts):
        for ent in doc.ents:
            # proper-noun heads only: an adjective tagged NORP ("Scottish", "Boolean") in place
            # of a noun ("the Normans") reads as nonsense, not as a misleading question
            if (ent.label_ in _SWAP_LABELS and 2 <= len(ent.text) <= 40 and "\n" not in ent.text
                    and ent.text[:1].isupper() and ent.root.pos_ == "PROPN"
                    and (ent.label_ != "NORP" or ent.root.tag_ == "NNPS")):
                inventory[ent.label_][ent.text] = None
    return {label: list(names) for label, names in inventory.items()}


def _entity_swap(record: QARecord, inventory: dict[str, list[str]],
                 rng: random.Random) -> tuple[str, dict[str, str]] | None:
    context = record.contexts[0]
    question = record.question
    for ent in parse([question])[0].ents:
        if ent.label_ not in _SWAP_LABELS or not ent.text[:1].isupper():
            continue
        if ent.root.dep_ in ("compound", "amod", "nmod") or ent.root.head.pos_ == "PROPN" and (
            ent.root.head.i >= ent.end
        ):
            continue  # a name inside a longer phrase ("Turing machine"): swapping makes nonsense
        pool = [n for n in inventory.get(ent.label_, [])
                if n != ent.text and not _contains(context, n) and not _contains(question, n)]
        if pool:
            other = rng.choice(pool)
            new = question[: ent.start_char] + other + question[ent.end_char :]
            return new, {"replaced": ent.text, "with": other}
    year = _YEAR.search(question)
    if year:
        for _ in range(10):
            other = str(int(year.group(0)) + rng.choice([-30, -12, -7, -3, 3, 7, 12, 30]))
            if other not in context:
                new = question[: year.start()] + other + question[year.end() :]
                return new, {"replaced": year.group(0), "with": other}
    return None


def _antonym(record: QARecord) -> tuple[str, dict[str, str]] | None:
    words = record.question.split()
    for index, word in enumerate(words):
        opposite = _ANTONYMS.get(word.lower())
        if opposite and not _contains(record.contexts[0], opposite):
            new = " ".join(words[:index] + [opposite] + words[index + 1 :])
            return new, {"replaced": word, "with": opposite}
    return _negated_adjective(record)


def _negated_adjective(record: QARecord) -> tuple[str, dict[str, str]] | None:
    """"un-" before an adjective or participle that the question shares with the context."""
    context = record.contexts[0]
    for token in parse([record.question])[0]:
        word = token.text
        if not (token.pos_ == "ADJ" or (token.tag_ == "VBN" and token.dep_ == "amod")):
            continue
        if (len(word) < 5 or not word.isalpha() or not word.islower()
                or not word.endswith(_ADJECTIVE_ENDINGS) or word.startswith(_NEGATING_PREFIXES)):
            continue
        negated = "un" + word
        if _contains(context, word) and not _contains(context, negated):
            new = record.question[: token.idx] + negated + record.question[token.idx + len(word):]
            return new, {"replaced": word, "with": negated}
    return None


def _negation(record: QARecord) -> tuple[str, dict[str, str]] | None:
    match = _AUX.match(record.question)
    if match is None or _NEGATION.search(record.question):
        return None
    # "not" goes before the main verb: "Who did Edward not charge ...", "Who were not famed"
    doc = parse([record.question])[0]
    verb = doc[:].root
    if verb.pos_ != "VERB" or verb.idx < match.end():
        return None
    context = record.contexts[0]
    start = record.answer_start or 0
    end = context.find(".", start)
    sentence = context[context.rfind(".", 0, start) + 1 : end if end >= 0 else len(context)]
    if _NEGATION.search(sentence):
        return None  # the context itself negates: "not" could make the question answerable
    new = record.question[: verb.idx] + "not " + record.question[verb.idx :]
    return new, {"inserted": "not"}


def make_adversarial(
    records: Sequence[QARecord], count: int, seed: int, inventory: dict[str, list[str]]
) -> list[QARecord]:
    """Up to ``count`` adversarial records, each from a different answerable record; the
    three edits are tried in an order that varies from record to record."""
    rng = random.Random(seed)
    pool = [r for r in records if r.answer is not None and r.kind == "answerable"]
    rng.shuffle(pool)
    parse([r.question for r in pool[: count * 3]])  # one batch; the edits read the cache
    made: list[QARecord] = []
    for record in pool:
        if len(made) >= count:
            break
        strategies = [("entity-swap", lambda r: _entity_swap(r, inventory, rng)),
                      ("antonym", _antonym), ("negation", _negation)]
        # entity swaps read most like SQuAD 2.0's adversarial questions: tried first half the
        # time, the other edits otherwise, so the three are all represented
        if rng.random() < 0.5:
            rng.shuffle(strategies)
        for name, edit in strategies:
            result = edit(record)
            if result is None:
                continue
            question, change = result
            made.append(QARecord(
                id="a_" + sha256_bytes(f"{record.id}|{question}".encode())[:12],
                question=question,
                contexts=[record.contexts[0]],
                answer=None,
                kind="adversarial",
                difficulty="inferential",
                source_doc_ids=list(record.source_doc_ids),
                provenance={"generator": "adversarial", "strategy": name,
                            "question_from": record.id, **change,
                            "context_id": record.provenance.get("context_id")},
            ))
            break
    return made
