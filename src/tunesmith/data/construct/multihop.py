"""Multi-hop questions: two documents joined by a bridge entity.

seed: "Multi-hop QA (15-20% of dataset): Require synthesis across documents" (Context1 "John
works at Google", Context2 "Google HQ is in Mountain View"). A bridge question is composed the
way HotpotQA's are: an answerable question about context A that names an entity E ("What did
the Normans adopt?") has E replaced by a description of E taken from another document B, in
which E is the subject of a clause ("the Normans were famed for their martial spirit" ->
"the people who were famed for their martial spirit"). The result, "What did the people who
were famed for their martial spirit adopt?", needs B to find E and A to find the answer.

The record holds both contexts: ``contexts = [A, B]``; the answer is a span of A, so
``answer_start`` indexes ``contexts[0]`` as for every record (the model is shown A and B
joined, in that order). ``kind`` and ``difficulty`` are ``multihop``; ``source_doc_ids`` names
both documents, and ``provenance`` the bridge entity and the description's source.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tunesmith.data.chunk import Context
from tunesmith.data.generate.rules import drafts_for_doc
from tunesmith.data.nlp import parse
from tunesmith.data.schema import QARecord
from tunesmith.utils.hashing import sha256_bytes

_PLURAL_VERBS = {"were", "are", "have", "do", "had"}
_AUXES = {"did", "does", "do", "was", "were", "is", "are", "can", "could", "has", "have", "had",
          "would", "will"}
_MAX_WORDS = 32
_USES_PER_BRIDGE = 3  # a bridge entity named everywhere (the corpus's topic) is used sparingly
_PER_SOURCE = 2  # bridge questions made from one answerable question, each via another context


@dataclass(frozen=True)
class Description:
    """A relative-clause description of ``entity`` taken from context ``context``."""

    entity: str
    text: str
    context: Context


_HEADS = {  # (singular, plural) head of the description, by entity type
    "PERSON": ("the person who", "the people who"),
    "NORP": ("the people who", "the people who"),
    "GPE": ("the place that", "the places that"),
    "LOC": ("the place that", "the places that"),
    "FAC": ("the place that", "the places that"),
    "ORG": ("the organisation that", "the organisations that"),
}


def _relative(question: str, label: str, plural: bool) -> str | None:
    """A subject question as a description: "Who were famed for X?" -> "the people who were
    famed for X"; "Which port opened in 1066?" -> "the port that opened in 1066"."""
    body = question.rstrip("?").strip()
    words = body.split()
    if len(words) < 3 or words[0] not in ("Who", "What", "Which"):
        return None
    plural = plural or words[1].lower() in _PLURAL_VERBS
    if words[0] == "Which":
        return f"the {words[1]} that {' '.join(words[2:])}"
    default = ("the person who", "the people who") if words[0] == "Who" else (
        "the one that", "the ones that")
    head = _HEADS.get(label, default)[1 if plural else 0]
    return f"{head} {' '.join(words[1:])}"


_IRREGULAR_PAST = {
    "be": "was", "become": "became", "begin": "began", "bring": "brought", "build": "built",
    "buy": "bought", "come": "came", "do": "did", "draw": "drew", "drive": "drove",
    "fall": "fell", "feel": "felt", "fight": "fought", "find": "found", "flee": "fled",
    "forbid": "forbade", "get": "got", "give": "gave", "go": "went", "grow": "grew",
    "have": "had", "hold": "held", "keep": "kept", "know": "knew", "lay": "laid", "lead": "led",
    "leave": "left", "lose": "lost", "make": "made", "mean": "meant", "meet": "met",
    "pay": "paid", "put": "put", "read": "read", "rise": "rose", "run": "ran", "say": "said",
    "see": "saw", "seek": "sought", "sell": "sold", "send": "sent", "set": "set",
    "show": "showed", "speak": "spoke", "spend": "spent", "stand": "stood", "take": "took",
    "teach": "taught", "tell": "told", "think": "thought", "win": "won", "write": "wrote",
}


def _inflect(lemma: str, do: str) -> str:
    """The verb form "did/does/do <lemma>" stands for: "did adopt" -> "adopted"."""
    if do == "do":
        return lemma
    if do == "does":
        if lemma == "have":
            return "has"
        if re.search(r"(s|sh|ch|x|z|o)$", lemma):
            return lemma + "es"
        if re.search(r"[^aeiou]y$", lemma):
            return lemma[:-1] + "ies"
        return lemma + "s"
    if lemma in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[lemma]
    if lemma.endswith("e"):
        return lemma + "d"
    if re.search(r"[^aeiou]y$", lemma):
        return lemma[:-1] + "ied"
    return lemma + "ed"


def _object_relative(question: str, label: str, plural: bool) -> str | None:
    """A question about an object as a description: "What did the Normans adopt?" -> "the
    one that the Normans adopted"; "Who was Normandy founded by?" -> "the person who
    Normandy was founded by"."""
    doc = parse([question])[0]
    words = [t for t in doc if not t.is_punct]
    if len(words) < 4 or words[0].text not in ("Who", "What"):
        return None
    aux = words[1]
    root = doc[:].root
    subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subject is None or aux.i >= subject.left_edge.i or aux.lower_ not in _AUXES:
        return None
    subj_end = subject.right_edge.i + 1
    subj_text = doc[subject.left_edge.i : subj_end].text
    rest = [t for t in doc[subj_end:] if not t.is_punct]
    if aux.lower_ in ("did", "does", "do"):
        if root.pos_ != "VERB" or not rest or rest[0].i != root.i:
            return None
        verb = _inflect(root.lemma_.lower(), aux.lower_)
        tail = " ".join([verb] + [t.text for t in rest[1:]])
    else:
        tail = " ".join([aux.text] + [t.text for t in rest])
    default = ("the person who", "the people who") if words[0].text == "Who" else (
        "the one that", "the ones that")
    head = _HEADS.get(label, default)[1 if plural else 0]
    return f"{head} {subj_text} {tail}"


def descriptions(contexts: Sequence[Context]) -> dict[str, list[Description]]:
    """Every entity that is the subject of a clause somewhere, with its descriptions."""
    found: dict[str, list[Description]] = defaultdict(list)
    parsed = list(zip(contexts, parse([c.text for c in contexts]), strict=True))
    grouped = [(context, doc, drafts_for_doc(doc)) for context, doc in parsed]
    parse([d.question for _, _, groups in grouped for g in groups for d in g])  # one batch
    for context, doc, groups in grouped:
        for group in groups:
            for draft in group:
                entity = doc.text[draft.start : draft.end]
                span = doc.char_span(draft.start, draft.end)
                if span is None:
                    continue
                head = span.root
                plural = head.tag_ in ("NNS", "NNPS")
                text = (_relative(draft.question, head.ent_type_, plural) if draft.subject
                        else _object_relative(draft.question, head.ent_type_, plural))
                # a name, or a term of two words or more ("decision problem"): a bridge worth
                # describing; a single common noun is not
                if text and len(entity) >= 3 and (entity[0].isupper() or len(span) >= 2):
                    found[entity].append(Description(entity, text, context))
    return found


def _mentions(question: str, entity: str) -> tuple[int, int] | None:
    """Where ``entity`` is a whole noun phrase of ``question`` (a noun chunk or a named entity
    of its parse, with its "the"): never part of a longer name or phrase ("Richard Karp",
    "many important problems")."""
    if entity not in question:
        return None
    doc = parse([question])[0]
    for span in [*doc.ents, *doc.noun_chunks]:
        text = span.text
        start = span.start_char
        if text.lower().startswith("the "):
            text = text[4:]
        elif span.start > 0 and doc[span.start - 1].lower_ == "the":
            start = doc[span.start - 1].idx
        if text == entity:
            return start, span.end_char
    return None


def make_multihop(
    records: Sequence[QARecord], contexts: Sequence[Context], count: int, seed: int
) -> list[QARecord]:
    """Up to ``count`` bridge questions, each from a different answerable record."""
    rng = random.Random(seed)
    found = descriptions(contexts)
    by_length = sorted(found, key=len, reverse=True)  # "Norman conquest" before "Norman"
    candidates: list[tuple[QARecord, Description, tuple[int, int]]] = []
    parse([r.question for r in records])  # one batch; _mentions reads the cache
    for record in records:
        if record.answer is None or record.kind != "answerable" or len(record.contexts) != 1:
            continue
        for entity in by_length:
            match = _mentions(record.question, entity)
            if match is None or entity == record.answer or entity in record.answer:
                continue
            options = [d for d in found[entity] if d.context.doc_id not in record.source_doc_ids]
            by_context = {d.context.id: d for d in rng.sample(options, len(options))}
            for description in list(by_context.values())[:_PER_SOURCE]:
                candidates.append((record, description, match))
            if options:
                break
    rng.shuffle(candidates)
    uses: Counter[str] = Counter()
    done: set[tuple[str, str]] = set()
    made: list[QARecord] = []
    for limit in (_USES_PER_BRIDGE, count):  # a second pass lifts the cap when short
        for record, description, match in candidates:
            if len(made) >= count:
                break
            key = (record.id, description.context.id)
            if uses[description.entity] >= limit or key in done or (
                sum(1 for m in made if m.provenance["question_from"] == record.id) >= _PER_SOURCE
            ):
                continue
            done.add(key)
            question = record.question[: match[0]] + description.text + (
                record.question[match[1] :]
            )
            question = question[0].upper() + question[1:]
            if len(question.split()) > _MAX_WORDS:
                continue
            uses[description.entity] += 1
            made.append(QARecord(
                id="m_" + sha256_bytes(f"{record.id}|{description.context.id}".encode())[:12],
                question=question,
                contexts=[record.contexts[0], description.context.text],
                answer=record.answer,
                answer_start=record.answer_start,
                alt_answers=list(record.alt_answers),
                kind="multihop",
                difficulty="multihop",
                source_doc_ids=[*record.source_doc_ids, description.context.doc_id],
                provenance={"generator": "multihop", "question_from": record.id,
                            "bridge": description.entity,
                            "bridge_context_id": description.context.id,
                            "context_id": record.provenance.get("context_id")},
            ))
    return made
