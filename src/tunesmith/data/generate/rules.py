"""``rules``: offline questions from a spaCy parse (entities, noun chunks, dependencies).

For every clause of a sentence (the root verb and verbs conjoined to it) each candidate answer
(a named entity or a noun phrase that fills a subject, object or prepositional slot) is cut
out of the clause and replaced by a wh-phrase chosen from what the answer is: a person ->
*who*, a date after "in" -> *when*, a place after "in"/"at" -> *where*, a number counting a
noun -> *how many <noun>*, a measurement -> *how long/often/much* (measures.py), an identifier
-> *which <type>* (identifiers.py), money -> *how much*, a modified noun phrase -> *which
<noun>*, anything else -> *what*. An instrument or a passive's agent is asked as the subject of
the clause turned round ("Quotas are set with the hlctl quota command." -> "Which command sets
quotas?"). The clause is then turned into a question (clauses.py) the way a person writes
one: the first auxiliary moves before the subject or *do*-support is added ("The Normans
descended from Norse raiders." -> "Who did the Normans descend from?"), a leading time or
place phrase moves to the end, subordinate clauses are dropped, and a pronoun subject is
replaced by the noun it refers to in an earlier sentence. The answer is the short core of the
phrase (no article, no relative clause), the way SQuAD annotators mark it, and every record's
span is verified in the context. The regex ``patterns`` (patterns.py) add their questions for
sentence shapes typical of technical documentation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tunesmith.data.chunk import Context
from tunesmith.data.generate.base import GENERATORS, span_record, spread_order
from tunesmith.data.generate.clauses import SUBJ, Clause, clause_heads
from tunesmith.data.generate.identifiers import identifier_answer, which_phrase
from tunesmith.data.generate.measures import UNITS, measure_span, measure_wh
from tunesmith.data.generate.patterns import sentence_drafts
from tunesmith.data.generate.phrases import (
    DATE_WORDS,
    PERSON_NOUNS,
    PRONOUNS,
    Draft,
    core_span,
    entity_text,
    render,
)
from tunesmith.data.nlp import SPACY_MODEL, parse
from tunesmith.data.schema import QARecord

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

    from tunesmith.config.data_gen import GenerateConfig

_SLOTS = {"nsubj", "nsubjpass", "dobj", "pobj", "attr", "dative", "oprd"}
_WHERE_PREPS = {"in", "at", "near", "inside", "within", "to", "into", "across", "throughout"}
_WHEN_PREPS = {"in", "on", "at", "during", "around"}
_MAX_ANSWER_TOKENS = 7  # SQuAD answers are mostly 1-4 tokens; a clause is not an answer
_MAX_QUESTION_TOKENS = 24
_PREPOSITIONS = {"of", "in", "on", "at", "by", "for", "with", "from", "to", "under", "into",
                 "over", "as", "about", "between", "through", "against", "during", "after"}
# the regex patterns that also read prose well ("X is Y" and "X <verb>s Y" do not: spaCy's
# clause questions cover those sentences better)
_PATTERNS_KEPT = {"port", "default", "passive"}
# an instrument ("set with the hlctl quota command") becomes the subject of the clause turned
# round ("Which command sets quotas?"); numbers and dates are not instruments
_INSTRUMENT_PREPS = {"with", "using", "via", "through"}
_NOT_INSTRUMENTS = {"COUNT", "MEASURE", "NUMBER_NAME", "DATE", "TIME", "MONEY", "PERCENT",
                    "CARDINAL", "QUANTITY", "ORDINAL"}


def _wh(answer_head: Token, ent_label: str, role: str, prep: str | None) -> tuple[str, bool] | None:
    """(wh-phrase, whether the preposition goes with the answer) or None to skip."""
    lower = answer_head.lemma_.lower()
    if ent_label in ("DATE", "TIME"):
        if not DATE_WORDS.search(entity_text(answer_head)):
            return None  # the small model's DATE is often a name: ask only about real dates
        if prep in _WHEN_PREPS:
            return ("What century" if "centur" in entity_text(answer_head) else "When", True)
        return None
    if ent_label in ("PERSON",) or (ent_label == "NORP" and answer_head.pos_ == "PROPN"):
        # the small model calls names like "HLP/2" people: no one's name has digits or slashes
        if re.search(r"[\d/_.]", entity_text(answer_head)):
            return ("What", False)
        return ("Who", False)
    if ent_label in ("GPE", "LOC", "FAC"):
        if prep in _WHERE_PREPS:
            return ("Where", True)
        if prep == "from":
            return ("Where", False)
        return ("What", False)
    if ent_label == "MONEY":
        return ("How much", False)
    if ent_label == "PERCENT":
        return ("What percentage", False)
    if ent_label in ("ORDINAL", "CARDINAL", "QUANTITY"):
        return None  # handled by "how many" or skipped
    if ent_label:
        return ("What", False)
    if lower in PERSON_NOUNS:
        return ("Who", False)
    return ("What", False)


def _slot_of(head: Token) -> tuple[str, str | None, Token] | None:
    """(role, preposition, the phrase head) of a noun in a clause slot."""
    if head.dep_ == "pobj" and head.head.dep_ in ("prep", "agent"):
        if head.head.head.pos_ not in ("VERB", "AUX", "ADJ"):
            return None  # "... the cultures of [West Francia]": no clean question strands "of"
        return "pobj", head.head.lower_, head
    if head.dep_ in _SLOTS:
        return head.dep_, None, head
    return None


def _candidates(clause: Clause) -> list[tuple[Token, str, int, int]]:
    """(phrase head, entity label, answer start token, answer end token) in the clause."""
    doc = clause.verb.doc
    inside = (set(clause.body) | clause.subject_ids) - clause.parenthesised - (
        clause.dropped - {t.i for c in clause.fronted for t in c.subtree})
    found: dict[int, tuple[Token, str, int, int]] = {}
    for ent in doc.ents:
        if ent.start not in inside or ent.end - 1 not in inside:
            continue
        head = ent.root
        if ent.label_ in ("CARDINAL", "QUANTITY") and head.dep_ == "nummod":
            # a number before its noun counts it ("three brokers"); after it, it names one
            # ("version 2.7", "port 9092")
            kind = "COUNT" if ent.start < head.head.i else "NUMBER_NAME"
            found[head.head.i] = (head.head, kind, ent.start, ent.end)
            continue
        if _slot_of(head) is None:
            continue
        start = ent.start + (1 if doc[ent.start].lower_ == "the" else 0)
        if start < ent.end:
            found[head.i] = (head, ent.label_, start, ent.end)
    for unit in (doc[k] for k in sorted(inside)):  # "30 days", "64 MiB": not a count
        span = measure_span(unit)
        if span is not None and span[0] in inside:
            found[unit.i] = (unit, "MEASURE", *span)
    for chunk in doc.noun_chunks:
        head = chunk.root
        if head.i in found or head.i not in inside or head.lower_ in PRONOUNS:
            continue
        if _slot_of(head) is None or head.pos_ not in ("NOUN", "PROPN"):
            continue
        i, j = core_span(head)
        if j - i < 2 and head.pos_ == "NOUN":
            continue  # a bare common noun ("people") says nothing on its own
        found[head.i] = (head, "", i, j)
    return list(found.values())


def _drafts_for_clause(clause: Clause) -> list[Draft]:
    doc = clause.verb.doc
    drafts = []
    for head, label, i, j in _candidates(clause):
        if j - i > _MAX_ANSWER_TOKENS or all(
            (t.is_stop and not t.like_num) or t.is_punct for t in doc[i:j]
        ):
            continue
        if doc[j - 1].pos_ in ("ADP", "DET", "CCONJ", "PART"):
            continue  # a cut-off phrase ("King of")
        if label == "MEASURE":  # adverbial too: "copied every 30 seconds"
            role = head.dep_
            prep = head.head.lower_ if role == "pobj" else None
        else:
            slot = _slot_of(head)
            if slot is None:
                continue
            role, prep, _ = slot
        # an identifier: "version 2.7" (a number naming its noun), "the server.node_id key"
        named: tuple[int, int, str] | None = None
        if label == "NUMBER_NAME":
            named = i, j, head.lemma_.lower()
        elif label not in ("COUNT", "MEASURE", "DATE", "TIME", "MONEY", "PERCENT"):
            named = identifier_answer(head, i, j)
        if label == "MEASURE":
            measured = measure_wh(head, role, prep)
            if measured is None:
                continue
            wh, with_prep = measured
            rule, priority = "measure", 3
        elif label == "COUNT":
            if head.lower_ in UNITS or head.text == "s":
                continue  # "How many KB ...?", "How many MB s ...?": no one counts units
            noun_words = [t for t in head.subtree if t.i < head.i and not (i <= t.i < j)
                          and t.dep_ not in ("det", "predet", "poss", "punct")] + [head]
            wh, with_prep = "How many " + render(noun_words), False
            rule, priority = "how-many", 3
        elif named is not None:
            i, j, noun = named
            wh, with_prep = which_phrase(noun, role, prep)
            rule, priority = "identifier", 3
        else:
            choice = _wh(head, label, role, prep)
            if choice is None:
                continue
            wh, with_prep = choice
            rule, priority = wh.lower().replace(" ", "-"), 2 if label else 1
            modifiers = [t for t in doc[i:j] if t.i != head.i and t.dep_ in ("amod", "compound")]
            telling = [t for t in modifiers if t.ent_type_ or t.text[:1].isupper()
                       or t.dep_ == "compound"]
            if (not label and wh == "What" and telling and head.pos_ == "NOUN"
                    and j == head.i + 1 and role not in SUBJ):
                wh, rule = f"Which {head.text}", "which"
        gap = {t.i for t in head.subtree}
        if role == "pobj" and with_prep:
            gap |= {head.head.i}
        if role == "pobj" and head.head.dep_ == "agent" and wh.startswith("Who"):
            pass  # "Who was it founded by?": the preposition stays behind
        if clause.nested(gap):
            continue  # asked of the main clause it would keep the relative clause around it
        stranded = role == "pobj" and not with_prep
        asked: list[tuple[str | None, str, int, bool, bool]] = [
            (clause.question(gap, wh), rule, priority, stranded, bool(gap & clause.subject_ids))]
        turned = _turned_round(clause, head, label, role, prep, wh)
        if turned is not None:  # preferred: people ask this way round
            asked.append((clause.active_question(gap | {head.head.i}, turned), "active",
                          priority + 1, False, True))
        answer = doc[i:j].text
        for question, how, rank, strands, subject in asked:
            if question is None:
                continue
            last = question.rstrip("?").split()[-1].lower()
            if (not strands and last in _PREPOSITIONS) or last in ("and", "or", "but", "the", "a"):
                continue
            n_words = len(question.split())
            if not 3 <= n_words <= _MAX_QUESTION_TOKENS or answer.lower() in question.lower():
                continue
            drafts.append(Draft(question, doc[i].idx, doc[j - 1].idx + len(doc[j - 1]), how,
                                rank, subject=subject))
    return drafts


def _turned_round(clause: Clause, head: Token, label: str, role: str, prep: str | None,
                  wh: str) -> str | None:
    """The wh-phrase for asking about an instrument or agent as the subject of the clause
    turned round (:meth:`Clause.active_question`), or None where the answer is not one: the
    object of "with"/"using"/"via" or of a passive's "by", on the clause's own verb. An active
    clause's "with" phrase is as often what comes along ("starts with three partitions") as
    what does the work, so there only a thing named by its type ("the command X") counts."""
    if role != "pobj" or head.head.head != clause.verb or label in _NOT_INSTRUMENTS:
        return None
    if any(t.like_num for t in head.subtree):
        return None  # "hashed with 4096 iterations": how, not what
    passive = any(a.dep_ == "auxpass" for a in clause.aux)
    if head.head.dep_ == "agent":
        if not passive:
            return None
    elif prep not in _INSTRUMENT_PREPS:
        return None
    if wh.startswith("Which"):
        return wh
    if not passive:
        return None
    return "Who" if wh == "Who" else "What"


def _appositive_drafts(sent: Span) -> list[Draft]:
    """"Normandy, a region in France, ..." -> "What is Normandy?" (answer: "region in France")."""
    drafts = []
    past = sent.root.tag_ == "VBD"
    for token in sent:
        if token.dep_ != "appos" or token.head.pos_ != "PROPN" or token.pos_ != "NOUN":
            continue
        if token.head.ent_type_ not in ("PERSON", "GPE", "LOC", "ORG", "FAC") or token.ent_type_:
            continue
        i, j = core_span(token)
        ent_label = token.head.ent_type_
        name = entity_text(token.head)
        if j - i < 2 or j - i > _MAX_ANSWER_TOKENS or len(name.split()) > 5 or "," in name:
            continue
        wh = "Who" if ent_label == "PERSON" else "What"
        verb = "was" if past and ent_label == "PERSON" else "is"
        doc = token.doc
        drafts.append(Draft(f"{wh} {verb} {name}?", doc[i].idx, doc[j - 1].idx + len(doc[j - 1]),
                            "appositive", 1))
    return drafts


def drafts_for_doc(doc: Doc) -> list[list[Draft]]:
    """Every question the parse supports, grouped by sentence."""
    grouped = []
    for sent in doc.sents:
        drafts: list[Draft] = []
        if sent.text.strip().endswith("?"):
            grouped.append(drafts)
            continue
        for verb, subject in clause_heads(sent):
            drafts.extend(_drafts_for_clause(Clause(verb, subject, sent)))
        drafts.extend(_appositive_drafts(sent))
        grouped.append(drafts)
    return grouped


def _select(grouped: list[list[Draft]], limit: int) -> list[Draft]:
    """Up to ``limit`` drafts, round-robin over sentences, best first, one per answer span.
    Each round visits the sentences spread over the context (first, middle, quarters, ...):
    in sentence order a limit below the number of sentences asks only about the first ones (on
    the quickstart the last third of a section held 10% of the answers; spread, 16%)."""
    with_drafts = [g for g in grouped if g]
    queues = [sorted(with_drafts[k], key=lambda d: -d.priority)
              for k in spread_order(len(with_drafts))]
    chosen: list[Draft] = []
    used_spans: set[tuple[int, int]] = set()
    used_questions: set[str] = set()
    while len(chosen) < limit and any(queues):
        for queue in queues:
            while queue:
                draft = queue.pop(0)
                overlaps = any(s < draft.end and draft.start < e for s, e in used_spans)
                if overlaps or draft.question.lower() in used_questions:
                    continue
                chosen.append(draft)
                used_spans.add((draft.start, draft.end))
                used_questions.add(draft.question.lower())
                break
            if len(chosen) >= limit:
                break
    return sorted(chosen, key=lambda d: d.start)


@GENERATORS.register("rules")
class SpacyRuleGenerator:
    """Questions from a spaCy parse, plus the sentence patterns; spans verified."""

    name = "rules"  # the generator recorded in each record's provenance

    def __init__(
        self, config: GenerateConfig | None = None, *, cache_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        del cache_dir, seed
        self.model = getattr(config, "spacy_model", None)

    def generate(self, context: Context, limit: int) -> Sequence[QARecord]:
        return self.generate_batch([context], limit)[0]

    def drafts(self, doc: Doc) -> list[list[Draft]]:
        """The candidate questions of one parsed context, grouped by sentence."""
        return drafts_for_doc(doc)

    def generate_batch(
        self, contexts: Sequence[Context], limit: int, on_done: Callable[[int], None] | None = None
    ) -> list[list[QARecord]]:
        docs = parse([c.text for c in contexts], self.model or SPACY_MODEL)
        out = []
        for context, doc in zip(contexts, docs, strict=True):
            grouped = self.drafts(doc)
            for sent_start, pattern in sentence_drafts(context.text):
                if pattern.rule not in _PATTERNS_KEPT:
                    continue
                start = sent_start + pattern.offset
                draft = Draft(pattern.question, start, start + len(pattern.answer),
                              f"pattern-{pattern.rule}", 1)
                for index, sent in enumerate(doc.sents):
                    if sent.start_char <= start < sent.end_char:
                        grouped[index].append(draft)
                        break
            records = []
            for draft in _select(grouped, limit):
                record = span_record(context, draft.question, context.text[draft.start:draft.end],
                                     draft.start, self.name, rule=draft.rule)
                if record is not None:
                    records.append(record)
            out.append(records)
            if on_done:
                on_done(1)
        return out
