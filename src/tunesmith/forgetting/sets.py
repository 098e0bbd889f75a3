"""The shipped general data the probe and the mitigations read (``forgetting/data/``).

Nothing comes from a user's corpus or the network: the passages, instructions, questions and
replay prompts are package data written for tunesmith (``data/README.md``). Each loader checks
what it reads, so a damaged install fails with the file's name and the item.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.forgetting.checkers import CHECKERS
from tunesmith.utils.hashing import sha256_json


@dataclass(frozen=True)
class Instruction:
    """A prompt with a constraint that code checks (``checker`` with ``args``)."""

    id: str
    prompt: str
    checker: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """A closed-book question; a reply is right when it contains one of ``answers``."""

    id: str
    question: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class ProbeSets:
    passages: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    questions: tuple[Question, ...]

    def limited(self, max_items: int | None) -> ProbeSets:
        """The first ``max_items`` of each set (all when None)."""
        if max_items is None:
            return self
        return ProbeSets(self.passages[:max_items], self.instructions[:max_items],
                         self.questions[:max_items])

    def fingerprint(self) -> str:
        return sha256_json({"passages": list(self.passages),
                            "instructions": [vars(i) for i in self.instructions],
                            "questions": [[q.id, q.question, list(q.answers)]
                                          for q in self.questions]})


def _text(name: str) -> str:
    return resources.files("tunesmith.forgetting").joinpath(f"data/{name}").read_text("utf-8")


def _json_list(name: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(_text(name))
    except ValueError as exc:
        raise TunesmithError(f"tunesmith/forgetting/data/{name}: not JSON ({exc})") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TunesmithError(f"tunesmith/forgetting/data/{name}: expected a list of objects")
    return value


def passages(name: str) -> tuple[str, ...]:
    """The non-empty paragraphs of a shipped prose file."""
    return tuple(p.strip() for p in _text(name).split("\n\n") if p.strip())


def _instruction(item: dict[str, Any]) -> Instruction:
    where = f"tunesmith/forgetting/data/instructions.json: item {item.get('id')!r}"
    try:
        ins = Instruction(str(item["id"]), str(item["prompt"]), str(item["check"]),
                          dict(item.get("args") or {}))
    except KeyError as exc:
        raise TunesmithError(f"{where}: key {exc} missing") from None
    checker = CHECKERS.get(ins.checker)
    try:  # the arguments fit the checker: a typo is a load error, not a silent failure
        inspect.signature(checker).bind("", **ins.args)
    except TypeError as exc:
        raise TunesmithError(f"{where}: args do not fit checker {ins.checker!r} ({exc})") from None
    return ins


@lru_cache(maxsize=1)
def probe_sets() -> ProbeSets:
    """The probe's three sets, checked."""
    questions = []
    for item in _json_list("general_qa.json"):
        try:
            questions.append(Question(str(item["id"]), str(item["question"]),
                                      tuple(str(a) for a in item["answers"])))
        except KeyError as exc:
            raise TunesmithError(f"tunesmith/forgetting/data/general_qa.json: item "
                                 f"{item.get('id')!r}: key {exc} missing") from None
    return ProbeSets(passages("prose_probe.txt"),
                     tuple(_instruction(i) for i in _json_list("instructions.json")),
                     tuple(questions))


def fisher_passages() -> tuple[str, ...]:
    """The prose EWC's Fisher is estimated on: not the text the perplexity probe scores."""
    return passages("prose_fisher.txt")


def replay_prompts() -> tuple[str, ...]:
    """General prompts for replay; none is a probe item."""
    return tuple(str(item["prompt"]) for item in _json_list("replay_prompts.json"))
