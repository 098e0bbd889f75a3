"""``rules``: offline questions from a spaCy parse (entities, noun chunks, dependencies).

For every clause of a sentence (the root verb and verbs conjoined to it) each candidate answer
(a named entity or a noun phrase that fills a subject, object or prepositional slot) is cut
out of the clause and replaced by a wh-phrase chosen from what the answer is: a person ->
*who*, a date after "in" -> *when*, a place after "in"/"at" -> *where*, a number counting a
noun -> *how many <noun>*, a measurement -> *how long/often/much* (measures.py), an identifier
-> *which <type>* (identifiers.py), money -> *how much*, a modified noun phrase -> *which
<noun>*, anything else -> *what*. An instrument or a passive's agent is asked as the subject of
the clause turned round ("Quotas are set with the hlctl quota command." -> "Which command sets
quotas?"). The clause is then turned into a question the way a person writes
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
from tunesmith.data.generate.identifiers import identifier_answer, which_phrase
from tunesmith.data.generate.measures import UNITS, measure_span, measure_wh
from tunesmith.data.generate.patterns import sentence_drafts
from tunesmith.data.generate.phrases import (
    DATE_WORDS,
    OTHER_CLAUSE,
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

_SUBJ = {"nsubj", "nsubjpass"}
_SLOTS = {"nsubj", "nsubjpass", "dobj", "pobj", "attr", "dative", "oprd"}
_WHERE_PREPS = {"in", "at", "near", "inside", "within", "to", "into", "across", "throughout"}
_WHEN_PREPS = {"in", "on", "at", "during", "around"}
_KEEP_ADVERBS = {"not", "never", "how", "when", "where", "why", "only", "first", "last"}
_SHORTEN = {"relcl", "acl", "appos", "advcl", "parataxis"}
_DO_FORM = {"VBD": "did", "VBZ": "does", "VBP": "do", "VB": "do"}
_MAX_ANSWER_TOKENS = 7  # SQuAD answers are mostly 1-4 tokens; a clause is not an answer
_MAX_QUESTION_TOKENS = 24
_PREPOSITIONS = {"of", "in", "on", "at", "by", "for", "with", "from", "to", "under", "into",
                 "over", "as", "about", "between", "through", "against", "during", "after"}
# the regex patterns that also read prose well ("X is Y" and "X <verb>s Y" do not: spaCy's
# clause questions cover those sentences better)
_PATTERNS_KEPT = {"port", "default", "passive"}
_MAX_SUBJECT_TOKENS = 12
# an instrument ("set with the hlctl quota command") becomes the subject of the clause turned
# round ("Which command sets quotas?"); numbers and dates are not instruments
_INSTRUMENT_PREPS = {"with", "using", "via", "through"}
_NOT_INSTRUMENTS = {"COUNT", "MEASURE", "NUMBER_NAME", "DATE", "TIME", "MONEY", "PERCENT",
                    "CARDINAL", "QUANTITY", "ORDINAL"}



def _plural(token: Token) -> bool:
    return token.tag_ in ("NNS", "NNPS") or token.lower_ in ("they", "these", "those")


def _antecedent(pronoun: Token, sent: Span) -> str | None:
    """The noun an ``it``/``they``/``he``/``she`` subject stands for: the nearest earlier
    sentence subject that agrees in number (and is a person for he/she)."""
    doc = pronoun.doc
    word = pronoun.lower_
    if word not in ("it", "they", "he", "she"):
        return None
    for earlier in reversed([s for s in doc.sents if s.end <= sent.start]):
        subjects = [t for t in earlier if t.dep_ in _SUBJ and t.head.dep_ == "ROOT"]
        for subj in subjects:
            if subj.lower_ in PRONOUNS or subj.pos_ not in ("NOUN", "PROPN"):
                continue
            if word in ("he", "she") and subj.ent_type_ != "PERSON":
                continue
            if (word == "they") != _plural(subj):
                continue
            i, j = core_span(subj)
            if doc[i - 1].lower_ == "the" if i > 0 else False:
                i -= 1
            if j - i <= 6:
                text = doc[i:j].text
                return text[0].lower() + text[1:] if doc[i].pos_ == "DET" else text
        if earlier.start < sent.start - 400:
            break
    return None


def _clause_heads(sent: Span) -> list[tuple[Token, Token | None]]:
    """(verb, subject) for every clause: the root, verbs conjoined to a clause verb (without a
    subject of their own they share its subject), subordinate and complement clauses with a
    subject, and relative clauses, whose subject "who"/"which"/"that" stands for the noun they
    modify ("the people who gave their name to Normandy" -> "the people gave ...")."""
    heads: list[tuple[Token, Token | None]] = []
    for verb in sent:
        if verb.pos_ not in ("VERB", "AUX") or verb.dep_ in ("aux", "auxpass"):
            continue
        subj = next((c for c in verb.children if c.dep_ in _SUBJ), None)
        if verb.dep_ == "ROOT":
            heads.append((verb, subj))
        elif verb.dep_ == "conj" and verb.head.pos_ in ("VERB", "AUX"):
            inherited = next((s for v, s in heads if v == verb.head), None)
            heads.append((verb, subj or inherited))
        elif verb.dep_ in ("advcl", "ccomp") and subj is not None and subj.lower_ not in (
            "which", "who", "that", "what"
        ):
            heads.append((verb, subj))
        elif (verb.dep_ == "relcl" and subj is not None and subj.tag_ in ("WDT", "WP")
              and verb.head.pos_ in ("NOUN", "PROPN")):
            heads.append((verb, verb.head))
    return heads


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


def _in_parentheses(sent: Span) -> set[int]:
    inside: set[int] = set()
    depth = 0
    for t in sent:
        if t.text == "(":
            depth += 1
        if depth:
            inside.add(t.i)
        if t.text == ")":
            depth = max(0, depth - 1)
    return inside


class _Clause:
    """One verb's clause of a sentence, from which questions are cut."""

    def __init__(self, verb: Token, subject: Token | None, sent: Span) -> None:
        self.verb = verb
        self.subject = subject
        self.sent = sent
        drop = self.parenthesised = _in_parentheses(sent)
        tokens: set[int] = {verb.i}
        for child in verb.children:
            if child.dep_ in OTHER_CLAUSE or child.dep_ in _SUBJ:
                continue
            tokens.update(t.i for t in child.subtree)
        self.body = sorted(tokens - drop)
        self.subject_ids = _ids(subject) if subject is not None else set()
        if verb.i in self.subject_ids:  # a relative clause's noun: the clause is not subject
            self.subject_ids -= _ids(verb)
        self.aux = [c for c in verb.lefts if c.dep_ in ("aux", "auxpass") and c.lower_ != "to"]
        self.neg = [c for c in verb.lefts if c.dep_ == "neg"]
        # phrases before the subject ("In 1066, ...") move to the end of the question
        first = min(self.subject_ids) if self.subject_ids else verb.i
        self.fronted = [c for c in verb.lefts if c.i < first and c.dep_ in ("prep", "npadvmod")
                        and len(list(c.subtree)) <= 6]
        self.dropped = {t.i for c in verb.lefts if c.i < first for t in c.subtree}

    def nested(self, gap: set[int]) -> bool:
        """Whether ``gap`` sits inside a relative clause, apposition or subordinate clause."""
        doc = self.verb.doc
        return any(doc[i].dep_ in _SHORTEN and gap < _ids(doc[i]) for i in self.body)

    def subject_text(self) -> str | None:
        subj = self.subject
        if subj is None or subj.dep_ == "expl":
            return None
        if subj.lower_ in PRONOUNS:
            return _antecedent(subj, self.sent)
        doc = subj.doc
        cut = {t.i for i in self.subject_ids if doc[i].dep_ in _SHORTEN and i != subj.i
               for t in doc[i].subtree}
        ids = sorted(self.subject_ids - cut - self.parenthesised)
        if not ids or len(ids) > _MAX_SUBJECT_TOKENS:
            return None
        tokens = [doc[i] for i in ids]
        text = render(tokens)
        upper_word = text[1:2].isupper()  # "IPv6" keeps its capital
        if tokens[0].tag_ not in ("NNP", "NNPS") and text[:1].isupper() and not upper_word:
            text = text[0].lower() + text[1:]
        return text

    def _rest(self, gap: set[int]) -> tuple[list[Token], list[Token]]:
        """The clause's words after its verb once ``gap`` is cut out (without auxiliaries,
        fronted phrases, and the relative clauses and adverbs a question can do without), and
        the fronted phrases, which go to the end."""
        doc = self.verb.doc
        verb = self.verb
        moved = {t.i for c in self.fronted for t in c.subtree} - gap
        aux_ids = {t.i for t in self.aux} | {t.i for t in self.neg}
        # relative clauses and appositions that do not hold the gap make a question long
        # without making it clearer: SQuAD questions average ten words
        cut = {t.i for i in self.body if doc[i].dep_ in _SHORTEN and not gap & _ids(doc[i])
               for t in doc[i].subtree}
        # the clause verb's own adverbs ("initially", "eventually", "also", "thereafter") are
        # dropped too: a question that copies every word of its sentence teaches lexical
        # matching, which human questions do not reward
        cut |= {t.i for adverb in verb.children
                if adverb.dep_ in ("advmod", "npadvmod") and adverb.pos_ == "ADV"
                and not gap & _ids(adverb) and adverb.lower_ not in _KEEP_ADVERBS
                for t in adverb.subtree}
        rest = [doc[i] for i in self.body
                if i not in gap and i not in aux_ids and i != verb.i and i not in self.dropped
                and i not in moved and i not in cut]
        return rest, [doc[i] for i in sorted(moved)]

    def question(self, gap: set[int], wh: str) -> str | None:
        """The clause with ``gap`` replaced by ``wh``, as a question."""
        verb = self.verb
        rest, tail = self._rest(gap)
        tail_text = _tail_text(tail)
        if gap & self.subject_ids:
            if gap != self.subject_ids:
                return None  # the answer is part of the subject: too tangled to ask about
            before = [t for t in self.aux + self.neg]
            words = [wh, render(before), verb.text, render(rest), tail_text]
        else:
            subject = self.subject_text()
            if subject is None:
                return None
            if self.aux:
                first, *others = self.aux
                words = [wh, first.text, subject, render(others + self.neg), verb.text,
                         render(rest), tail_text]
            elif verb.lemma_ == "be":
                words = [wh, verb.text, subject, render(self.neg), render(rest),
                         tail_text]
            elif verb.tag_ in _DO_FORM:
                words = [wh, _DO_FORM[verb.tag_], subject, render(self.neg), verb.lemma_,
                         render(rest), tail_text]
            else:
                return None
        if not rest and not tail and not self.subject_ids - gap:
            return None
        return _as_question(words)

    def active_question(self, gap: set[int], wh: str) -> str | None:
        """The clause turned round so that the instrument or agent in ``gap`` is its subject,
        the way people ask about what a sentence says something is done with: "Quotas are set
        with the hlctl quota command." -> "Which command sets quotas?", "Operators can change
        the mode with the command hlctl schema mode." -> "Which command can change the mode?",
        "Port 7431 is used by the Keel controller." -> "What uses port 7431?". None where the
        clause does not turn round cleanly (negated, no subject, an irregular past)."""
        verb = self.verb
        if self.neg or verb.pos_ != "VERB" or gap & self.subject_ids:
            return None
        passive = [a for a in self.aux if a.dep_ == "auxpass"]
        modal = [a for a in self.aux if a.tag_ == "MD"]
        if len(self.aux) != len(passive) + len(modal) or len(modal) > 1:
            return None  # "has been set", "is being set": tenses this does not rebuild
        if passive:
            past = passive[0].tag_ == "VBD"
            # the passive's subject becomes the object ("quotas"), or it was a pronoun
            obj = self.subject_text()
            if obj is None or obj.lower() in PRONOUNS:
                return None
        else:
            past = verb.tag_ == "VBD"
            obj = None  # an active clause drops its agent ("Operators can change ...")
        if modal and modal[0].lower_ not in ("can", "could", "may"):
            return None  # "should be mounted with the noatime option": no option mounts
        if modal:
            form = f"{modal[0].text.lower()} {verb.lemma_}"
        elif past:
            if verb.tag_ not in ("VBD", "VBN") or not verb.lower_.endswith("ed"):
                return None
            form = verb.lower_
        else:
            form = third_person(verb.lemma_.lower())
        rest, tail = self._rest(gap)
        if passive and any(t.dep_ == "agent" for t in rest):
            return None  # "set by X with Y": the agent would stay behind
        question = _as_question([wh, form, obj or "", render(rest), _tail_text(tail)])
        noun = wh.split()[-1].lower()
        if question and wh.startswith("Which") and any(
            w.lower().startswith(noun) for w in question.rstrip("?").split()[2:]
        ):
            return None  # "Which drain drains the broker?": the type noun was the name's word
        return question


def _tail_text(tail: list[Token]) -> str:
    text = render(tail)
    if tail and tail[0].tag_ not in ("NNP", "NNPS"):
        text = text[:1].lower() + text[1:]
    return text


def _as_question(words: Sequence[str]) -> str | None:
    text = " ".join(w for w in words if w).strip(" ,")
    if any(c in text for c in '()"[]:;'):
        return None
    return text[0].upper() + text[1:] + "?"


def third_person(lemma: str) -> str:
    """A verb's present third person singular: set -> sets, pass -> passes, copy -> copies."""
    irregular = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    if lemma in irregular:
        return irregular[lemma]
    if lemma.endswith(("s", "x", "z", "ch", "sh")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def _ids(token: Token) -> set[int]:
    return {t.i for t in token.subtree}


def _slot_of(head: Token) -> tuple[str, str | None, Token] | None:
    """(role, preposition, the phrase head) of a noun in a clause slot."""
    if head.dep_ == "pobj" and head.head.dep_ in ("prep", "agent"):
        if head.head.head.pos_ not in ("VERB", "AUX", "ADJ"):
            return None  # "... the cultures of [West Francia]": no clean question strands "of"
        return "pobj", head.head.lower_, head
    if head.dep_ in _SLOTS:
        return head.dep_, None, head
    return None


def _candidates(clause: _Clause) -> list[tuple[Token, str, int, int]]:
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


def _drafts_for_clause(clause: _Clause) -> list[Draft]:
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
                    and j == head.i + 1 and role not in _SUBJ):
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


def _turned_round(clause: _Clause, head: Token, label: str, role: str, prep: str | None,
                  wh: str) -> str | None:
    """The wh-phrase for asking about an instrument or agent as the subject of the clause
    turned round (:meth:`_Clause.active_question`), or None where the answer is not one: the
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
        for verb, subject in _clause_heads(sent):
            drafts.extend(_drafts_for_clause(_Clause(verb, subject, sent)))
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
