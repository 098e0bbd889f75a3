"""``cloze``: the ``rules`` questions, then a question for every other entity and noun phrase.

The parse-based ``rules`` generator writes grammatical questions, but only where a clause has a
shape it knows: on the SQuAD 2.0 sample it asks about 6 spans per paragraph, and those spans
overlap only 104 of the 293 human answers. An extractive reader learns from *coverage*: which
kinds of span answer which kinds of question. ``cloze`` therefore adds, after the ``rules``
drafts, a "noisy cloze" question (Lewis, Denoyer and Riedel, 2019, *Unsupervised Question
Answering by Cloze Translation*) for every named entity, number and noun phrase the rules left
out: the answer is cut out of its clause, replaced by a wh-phrase chosen from the answer's
type (*who*, *when*, *where*, *how many <noun>*, *how much*, *what percentage*, *what*), and the
wh-phrase moves to the front without inverting the verb ("The Normans conquered England in
1066." -> "When the Normans conquered England?"). Lewis et al. found such questions train a
reader nearly as well as grammatical ones; they are not pretty, which is why ``rules`` drafts
win wherever both ask about the same span. Every span is verified in the context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunesmith.data.generate.base import GENERATORS
from tunesmith.data.generate.phrases import (
    DATE_WORDS,
    OTHER_CLAUSE,
    PERSON_NOUNS,
    PRONOUNS,
    Draft,
    core_span,
    render,
)
from tunesmith.data.generate.rules import SpacyRuleGenerator, drafts_for_doc

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_MAX_ANSWER_TOKENS = 7
_MIN_QUESTION_WORDS = 4
_MAX_QUESTION_WORDS = 24
_WHERE_PREPS = {"in", "at", "near", "inside", "within", "into", "throughout"}
_WHEN_PREPS = {"in", "on", "at", "during", "around", "by", "since", "until", "before", "after"}
_PREP_KEPT_WITH_WHEN = {"by", "since", "until", "before", "after"}
_VERBAL = ("VERB", "AUX")
# clauses inside a phrase of the clause: left out of the question unless they hold the answer
_NESTED = {"relcl", "appos", "advcl", "parataxis", "acl"}


def _answer_candidates(sent: Span) -> list[tuple[int, int, int, int, str, Token]]:
    """(answer start, answer end, cut start, cut end, entity label, head) token indices for
    every entity, number and noun phrase of a sentence.

    The answer is the short core SQuAD annotators mark ("martial spirit"); the cut is the whole
    phrase the wh-word replaces ("their martial spirit"). Entities come first and a noun phrase
    that overlaps one is skipped, so "the Duchy of Normandy" yields the entity "Duchy of
    Normandy", not also "the Duchy".
    """
    doc = sent.doc
    found: list[tuple[int, int, int, int, str, Token]] = []
    taken: set[int] = set()
    for ent in sent.ents:
        start = ent.start + (1 if doc[ent.start].lower_ == "the" else 0)
        if start >= ent.end:
            continue
        found.append((start, ent.end, ent.start, ent.end, ent.label_, ent.root))
        taken.update(range(ent.start, ent.end))
    for chunk in sent.noun_chunks:
        head = chunk.root
        if head.lower_ in PRONOUNS or head.pos_ not in ("NOUN", "PROPN"):
            continue
        i, j = core_span(head)
        cut_i, cut_j = min(i, chunk.start), max(j, chunk.end)
        if i >= j or taken & set(range(cut_i, cut_j)):
            continue
        if j - i < 2 and head.pos_ == "NOUN" and not head.is_title:
            continue  # a bare common noun ("people") says nothing on its own
        found.append((i, j, cut_i, cut_j, "", head))
        taken.update(range(cut_i, cut_j))
    return found


def _wh(doc: Doc, i: int, j: int, label: str, head: Token) -> tuple[str, int, int] | None:
    """(wh-phrase, first and last+1 token the wh-phrase replaces) or None to skip the span."""
    before = doc[i - 1].lower_ if i > 0 else ""
    if label in ("DATE", "TIME"):
        if not DATE_WORDS.search(doc[i:j].text):
            return None
        wh = "what century" if "centur" in doc[i:j].text.lower() else "when"
        if before in _WHEN_PREPS and before not in _PREP_KEPT_WITH_WHEN:
            return wh, i - 1, j
        return wh, i, j
    if label in ("CARDINAL", "QUANTITY") or (not label and head.like_num):
        counted = doc[j] if j < len(doc) and doc[j].pos_ == "NOUN" else None
        if counted is not None:
            return f"how many {counted.text}", i, j + 1
        if label == "QUANTITY":
            return "how much", i, j
        return "how many", i, j
    if label == "MONEY":
        return "how much", i, j
    if label == "PERCENT":
        return "what percentage", i, j
    if label == "ORDINAL":
        return "which", i, j
    if label == "PERSON" or (label == "NORP" and head.pos_ == "PROPN"):
        return "who", i, j
    if label in ("GPE", "LOC", "FAC") and before in _WHERE_PREPS:
        return "where", i - 1, j
    if not label and head.lemma_.lower() in PERSON_NOUNS:
        return "who", i, j
    return "what", i, j


def _clause(doc: Doc, sent: Span, head: Token) -> list[Token]:
    """The tokens of the smallest clause around ``head``: its nearest verb's subtree without
    the other clauses hanging off it (coordinated, adverbial, relative, appositive ones) that
    do not hold the answer. A relative pronoun subject becomes the noun it refers to."""
    verb = head
    while verb.pos_ not in _VERBAL and verb.head.i != verb.i:
        verb = verb.head
    if verb.pos_ not in _VERBAL:
        verb = sent.root
    keep = {t.i for t in verb.subtree}
    for token in verb.subtree:
        if token.i == verb.i:
            continue
        dropped = token.dep_ in _NESTED or (token.head.i == verb.i and token.dep_ in OTHER_CLAUSE)
        if dropped and head.i not in {t.i for t in token.subtree}:
            keep -= {t.i for t in token.subtree}
    tokens = [doc[k] for k in sorted(keep) if sent.start <= k < sent.end]
    if verb.dep_ == "relcl":
        # "... Richard I, who employed 40 monks" -> "Richard I employed 40 monks"
        i, j = core_span(verb.head)
        antecedent = [t for t in doc[i:j] if not i <= head.i < j]
        if antecedent:
            tokens = [x for t in tokens
                      for x in (antecedent if t.tag_ in ("WP", "WDT") and t.head.i == verb.i
                                else [t])]
    has_subject = any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children)
    if not has_subject and verb.dep_ == "conj":
        # "... and later conquered England": borrow the subject of the verb it joins
        subject = [c for c in verb.head.children if c.dep_ in ("nsubj", "nsubjpass")]
        if subject:
            tokens = sorted(list(subject[0].subtree) + tokens, key=lambda t: t.i)
    while tokens and (tokens[0].is_punct or tokens[0].dep_ in ("cc", "mark")):
        tokens = tokens[1:]
    return tokens


def cloze_drafts(doc: Doc) -> list[list[Draft]]:
    """One cloze question per candidate answer span, grouped by sentence."""
    grouped: list[list[Draft]] = []
    for sent in doc.sents:
        drafts: list[Draft] = []
        grouped.append(drafts)
        if sent.text.strip().endswith("?"):
            continue
        for i, j, cut_i, cut_j, label, head in _answer_candidates(sent):
            span = doc[i:j]
            if j - i > _MAX_ANSWER_TOKENS or all(
                (t.is_stop and not t.like_num) or t.is_punct for t in span
            ):
                continue
            choice = _wh(doc, cut_i, cut_j, label, head)
            if choice is None:
                continue
            wh, cut_from, cut_to = choice
            rest = [t for t in _clause(doc, sent, head) if not cut_from <= t.i < cut_to]
            if not rest:
                continue
            body = render(rest)
            if body[:1].isupper() and not (rest[0].ent_type_ or rest[0].pos_ == "PROPN"
                                           or rest[0].text == "I"):
                body = body[0].lower() + body[1:]
            question = f"{wh[0].upper()}{wh[1:]} {body}?"
            words = question.split()
            if not _MIN_QUESTION_WORDS <= len(words) <= _MAX_QUESTION_WORDS:
                continue
            if span.text.lower() in question.lower():
                continue  # the question would give the answer away
            drafts.append(Draft(question, span.start_char, span.end_char, f"cloze-{wh.split()[0]}",
                                0, subject=head.dep_ in ("nsubj", "nsubjpass")))
    return grouped


@GENERATORS.register("cloze")
class ClozeGenerator(SpacyRuleGenerator):
    """``rules`` first, then noisy-cloze questions for every span the rules did not ask about."""

    name = "cloze"

    def drafts(self, doc: Doc) -> list[list[Draft]]:
        rules = drafts_for_doc(doc)
        cloze = cloze_drafts(doc)
        return [r + c for r, c in zip(rules, cloze, strict=True)]
