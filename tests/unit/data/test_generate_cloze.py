"""The ``cloze`` generator: the ``rules`` questions, then one for every other span."""

from __future__ import annotations

import json
from pathlib import Path

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.chunk import Context
from tunesmith.data.generate import GENERATORS, generate_questions, make_generator

TEXT = (
    "The Normans were famed for their martial spirit. In 1066, William the Conqueror "
    "invaded England. Rollo agreed to swear fealty to King Charles III of West Francia. "
    "The treaty gave the Normans three provinces in northern France. "
    "The abbey of Fécamp was founded by Richard I, who employed 40 monks from Burgundy."
)


def _generate(name: str, text: str = TEXT, limit: int = 40) -> list:
    context = Context("doc#0", "doc", 0, text)
    return list(make_generator(GenerateConfig(generator=name)).generate(context, limit=limit))


def test_cloze_keeps_every_rules_question_and_adds_more() -> None:
    rules = _generate("rules")
    cloze = _generate("cloze")
    assert {r.question for r in rules} <= {r.question for r in cloze}
    assert len(cloze) > len(rules)
    added = [r for r in cloze if r.provenance["rule"].startswith("cloze-")]
    assert added and all(r.provenance["generator"] == "cloze" for r in cloze)
    for r in cloze:
        assert TEXT[r.answer_start : r.answer_start + len(r.answer)] == r.answer
        assert r.question.endswith("?") and r.question[0].isupper()
        assert r.answer.lower() not in r.question.lower()


def test_cloze_questions_replace_the_whole_phrase_with_a_typed_wh_word() -> None:
    by_answer = {r.answer: r.question for r in _generate("cloze")}
    # the possessive goes with the cut phrase, the answer is the core
    assert by_answer.get("martial spirit") == "What were the Normans famed for?" or (
        "their" not in by_answer.get("martial spirit", "their")
    )
    # a counted noun: "how many <noun>", the noun leaves the question with the number
    assert by_answer.get("40", "").startswith("How many monks"), by_answer
    assert "monks" not in by_answer["40"].split("monks", 1)[1]


def test_cloze_covers_more_human_answers_than_rules(squad_sample_dir: Path) -> None:
    """The point of ``cloze``: its spans overlap more of the spans SQuAD annotators chose."""
    data = json.loads((squad_sample_dir / "dev-sample.json").read_text())
    paragraphs = [p for a in data["data"] for p in a["paragraphs"]][:12]
    contexts = [Context(f"p{i}#0", f"p{i}", 0, p["context"]) for i, p in enumerate(paragraphs)]
    human = [
        [(a["answer_start"], a["answer_start"] + len(a["text"])) for q in p["qas"]
         for a in q["answers"][:1]]
        for p in paragraphs
    ]

    def coverage(name: str) -> float:
        out = generate_questions(make_generator(GenerateConfig(generator=name)), contexts, 40)
        hit = total = 0
        for spans, records in zip(human, out, strict=True):
            got = [(r.answer_start, r.answer_start + len(r.answer)) for r in records]
            for s, e in spans:
                total += 1
                hit += any(gs < e and s < ge for gs, ge in got)
        return hit / total

    rules, cloze = coverage("rules"), coverage("cloze")
    assert cloze >= rules + 0.15 and cloze >= 0.55, (rules, cloze)


def test_cloze_is_registered() -> None:
    assert "cloze" in GENERATORS.names()
