"""Clauses of a parsed sentence and how one becomes a question, for the ``rules`` generator
(rules.py chooses the answers and their wh-phrases).

A clause is a verb with its subject and the phrases that hang on it (:func:`clause_heads` finds
every one of a sentence). :meth:`Clause.question` cuts an answer out of it and puts the
wh-phrase in front the way a person writes a question: the first auxiliary before the subject
or *do*-support, a leading time or place phrase moved to the end, relative clauses and adverbs
that do not hold the answer dropped, a pronoun subject replaced by the noun it refers to.
:meth:`Clause.active_question` turns the clause round so that an instrument or a passive's
agent is its subject ("Quotas are set with the hlctl quota command." -> "Which command sets
quotas?").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tunesmith.data.generate.phrases import OTHER_CLAUSE, PRONOUNS, core_span, render

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

SUBJ = {"nsubj", "nsubjpass"}
_KEEP_ADVERBS = {"not", "never", "how", "when", "where", "why", "only", "first", "last"}
# relative clauses, appositions and subordinate clauses: a question drops them unless they
# hold its answer
SHORTEN = {"relcl", "acl", "appos", "advcl", "parataxis"}
_DO_FORM = {"VBD": "did", "VBZ": "does", "VBP": "do", "VB": "do"}
_MAX_SUBJECT_TOKENS = 12


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
        subjects = [t for t in earlier if t.dep_ in SUBJ and t.head.dep_ == "ROOT"]
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


def clause_heads(sent: Span) -> list[tuple[Token, Token | None]]:
    """(verb, subject) for every clause: the root, verbs conjoined to a clause verb (without a
    subject of their own they share its subject), subordinate and complement clauses with a
    subject, and relative clauses, whose subject "who"/"which"/"that" stands for the noun they
    modify ("the people who gave their name to Normandy" -> "the people gave ...")."""
    heads: list[tuple[Token, Token | None]] = []
    for verb in sent:
        if verb.pos_ not in ("VERB", "AUX") or verb.dep_ in ("aux", "auxpass"):
            continue
        subj = next((c for c in verb.children if c.dep_ in SUBJ), None)
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


class Clause:
    """One verb's clause of a sentence, from which questions are cut."""

    def __init__(self, verb: Token, subject: Token | None, sent: Span) -> None:
        self.verb = verb
        self.subject = subject
        self.sent = sent
        drop = self.parenthesised = _in_parentheses(sent)
        tokens: set[int] = {verb.i}
        for child in verb.children:
            if child.dep_ in OTHER_CLAUSE or child.dep_ in SUBJ:
                continue
            tokens.update(t.i for t in child.subtree)
        self.body = sorted(tokens - drop)
        self.subject_ids = subtree_ids(subject) if subject is not None else set()
        if verb.i in self.subject_ids:  # a relative clause's noun: the clause is not subject
            self.subject_ids -= subtree_ids(verb)
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
        return any(doc[i].dep_ in SHORTEN and gap < subtree_ids(doc[i]) for i in self.body)

    def subject_text(self) -> str | None:
        subj = self.subject
        if subj is None or subj.dep_ == "expl":
            return None
        if subj.lower_ in PRONOUNS:
            return _antecedent(subj, self.sent)
        doc = subj.doc
        cut = {t.i for i in self.subject_ids if doc[i].dep_ in SHORTEN and i != subj.i
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
        cut = {t.i for i in self.body if doc[i].dep_ in SHORTEN and not gap & subtree_ids(doc[i])
               for t in doc[i].subtree}
        # the clause verb's own adverbs ("initially", "eventually", "also", "thereafter") are
        # dropped too: a question that copies every word of its sentence teaches lexical
        # matching, which human questions do not reward
        cut |= {t.i for adverb in verb.children
                if adverb.dep_ in ("advmod", "npadvmod") and adverb.pos_ == "ADV"
                and not gap & subtree_ids(adverb) and adverb.lower_ not in _KEEP_ADVERBS
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
            # the passive's subject becomes the object ("quotas"); a pronoun subject is the
            # noun it stands for, or the clause is not turned round
            obj = self.subject_text()
            if obj is None:
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


def subtree_ids(token: Token) -> set[int]:
    return {t.i for t in token.subtree}
