"""Paraphrased questions: the same question in other words, with the same answer span.

seed: "Paraphrase Generation ... Input: How to reset password? -> What's the password recovery
procedure?". Two backends:

* ``template`` (offline): rewrites that keep the meaning by construction: the wh-phrase said
  another way ("Where" -> "In what place", "How many" -> "What number of", "When" -> "In what
  year" when the answer is a year, "Which N" <-> "What N"), a frame around the question
  ("According to the text, ..."), and a short table of verb synonyms. Context and answer do not
  change, so the answer span stays valid.
* ``llm`` / ``hf``: the generate section's backend is asked for paraphrases as JSON; a
  paraphrase that contains the answer, repeats the question or is empty is rejected.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.augment.base import (
    AugmentContext,
    Augmented,
    Paraphraser,
    register_augmenter,
)
from tunesmith.data.augment.model_paraphrase import model_paraphraser
from tunesmith.data.generate.identifiers import FRONT_PREPS
from tunesmith.data.schema import QARecord, Rejection
from tunesmith.utils.hashing import sha256_bytes
from tunesmith.utils.text import normalize_answer

# the prepositions ``rules`` puts before "which <noun>" ("In which version ...?")
_FRONTED = tuple(sorted(p.capitalize() for p in FRONT_PREPS))
_WH = [
    (re.compile(r"^Where (?=\w)"), ["In what place ", "At what location "]),
    (re.compile(r"^How many (?=\w)"), ["What number of "]),
    (re.compile(r"^Who (?=\w)"), ["Which person "]),
    (re.compile(r"^Which (?=\w)"), ["What "]),
    (re.compile(rf"^({'|'.join(_FRONTED)}) which (?=\w)"), [r"\1 what "]),
]
_FRAMES = ["According to the text, {q}", "Based on the passage, {q}", "From the context, {q}",
           "In the passage, {q}"]
_SYNONYMS = {
    "begin": "start", "began": "started", "begins": "starts", "end": "finish", "ended": "finished",
    "build": "construct", "built": "constructed", "create": "make", "created": "made",
    "large": "big", "small": "little", "show": "demonstrate", "shows": "demonstrates",
    "use": "employ", "used": "employed", "uses": "employs", "help": "assist",
    "helped": "assisted", "buy": "purchase", "bought": "purchased", "get": "obtain",
    "often": "frequently", "quickly": "rapidly", "important": "significant", "main": "principal",
    "called": "named", "known": "recognised", "defines": "specifies", "define": "specify",
}
_YEAR = re.compile(r"^\d{3,4}$")


def template_paraphrases(record: QARecord, rng: random.Random) -> list[str]:
    """Offline rewrites of ``record.question``, most different first: the wh-phrase said
    another way and verb synonyms, inside a frame; then without the frame; then the frame
    around the question as it was. A copy that changes a word or two is a near-duplicate the
    quality stage would drop, so the first one changes the most."""
    question = record.question
    rewrites: list[str] = []
    for pattern, replacements in _WH:
        if pattern.search(question):
            for replacement in replacements:
                if replacement.startswith("Which person") and record.answer and not (
                    record.answer[:1].isupper()
                ):
                    continue  # "who" about a group noun phrase is not a person
                rewrites.append(pattern.sub(replacement, question, count=1))
    if question.startswith("When ") and record.answer and _YEAR.match(record.answer):
        rewrites.append("In what year " + question[len("When "):])
    rewrites = [" ".join(_SYNONYMS.get(w, w) for w in q.split()) for q in rewrites or [question]]
    frame = rng.choice(_FRAMES)

    def framed(q: str) -> str:
        return frame.format(q=q if _proper_start(q) else q[0].lower() + q[1:])

    out = [framed(rewrites[0]), *rewrites, framed(question)]
    return [q for q in dict.fromkeys(out) if q != question]


def _proper_start(question: str) -> bool:
    first = question.split()[0]
    return first not in ("What", "Which", "Who", "Where", "When", "How", "Why", *_FRONTED)


def valid_paraphrase(record: QARecord, text: str) -> str | None:
    """Why ``text`` is no usable paraphrase of ``record.question`` (None when it is)."""
    text = text.strip()
    if not text or len(text.split()) < 3:
        return "empty or too short"
    if normalize_answer(text) == normalize_answer(record.question):
        return "the same as the question"
    answer = normalize_answer(record.answer or "")
    if answer and f" {answer} " in f" {normalize_answer(text)} ":
        return "gives the answer away"
    if not text.endswith("?"):
        return "not a question"
    return None


def paraphrase_records(
    records: Sequence[QARecord],
    copies: int,
    seed: int,
    paraphraser: Paraphraser | None = None,
) -> tuple[list[QARecord], list[Rejection]]:
    """Up to ``copies`` paraphrased copies of each answerable record."""
    rng = random.Random(seed)
    pool = [r for r in records if r.answer is not None and r.kind == "answerable"]
    if copies <= 0 or not pool:
        return [], []
    if paraphraser is not None:
        texts = paraphraser(pool, copies)
        backend = "model"
    else:
        texts = [template_paraphrases(r, rng) for r in pool]
        backend = "template"
    made: list[QARecord] = []
    rejected: list[Rejection] = []
    for record, options in zip(pool, texts, strict=True):
        kept = 0
        for text in options:
            if kept >= copies:
                break
            variant = record.model_copy(update={
                "id": f"{record.id}_p" + sha256_bytes(text.encode())[:8],
                "question": " ".join(text.split()),
                "provenance": {**record.provenance, "augment": "paraphrase",
                               "paraphrase_backend": backend, "source_record": record.id},
            })
            reason = valid_paraphrase(record, text)
            if reason:
                rejected.append(Rejection(variant, "augment", f"paraphrase: {reason}"))
                continue
            made.append(variant)
            kept += 1
    return made, rejected


@register_augmenter("paraphrase", order=20)
def augment(ctx: AugmentContext) -> Augmented:
    config = ctx.config
    if not config.paraphrase:
        return [], []
    ctx.step(f"paraphrasing questions ({config.paraphrase_backend}, {config.paraphrase} each)")
    paraphraser = None
    if config.paraphrase_backend != "template":
        paraphraser = model_paraphraser(config.paraphrase_backend,
                                        ctx.generate or GenerateConfig(), ctx.cache_dir, ctx.seed)
    return paraphrase_records(ctx.answerable, config.paraphrase, ctx.seed + 1, paraphraser)
