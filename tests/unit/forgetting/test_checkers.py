"""The IFEval-style checkers pass and fail on hand-made replies; the shipped probe sets load."""

from __future__ import annotations

from typing import Any

import pytest

from tunesmith.forgetting.checkers import CHECKERS, check
from tunesmith.forgetting.probe import answers_correctly
from tunesmith.forgetting.sets import Question, fisher_passages, probe_sets, replay_prompts

# (checker, args, a reply that passes, a reply that fails)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("all_capitals", {}, "THE BEACH IS WARM. WAVES ROLL IN!", "THE BEACH IS warm."),
    ("all_lowercase", {}, "hello there, welcome to the street!", "hello there, Welcome!"),
    ("bullet_count", {"n": 3}, "* walking helps\n* it is cheap\n- it is calm",
     "* walking helps\n* it is cheap"),
    ("numbered_count", {"n": 3}, "1. boil water\n2. add tea\n3) wait",
     "1. boil water\n3. add tea\n2. wait"),
    ("ends_with", {"phrase": "DONE"}, "Plants need water to live. DONE.", "DONE. Plants need it."),
    ("starts_with", {"phrase": "Certainly"}, "Certainly! A calendar tracks days.",
     "A calendar tracks days. Certainly."),
    ("max_words", {"n": 5}, "A library lends books.", "A library is a place that lends books."),
    ("min_words", {"n": 5}, "Reading is good for you.", "Reading is good."),
    ("single_word", {}, "White.", "It is white."),
    ("includes_keywords", {"keywords": ["umbrella", "cloud"]},
     "Take an Umbrella: a dark cloud is coming.", "Take an umbrella: rain is coming."),
    ("excludes_words", {"forbidden": ["night", "sky"]}, "The moon is bright and round.",
     "The moon lights the night."),
    ("keyword_count", {"keyword": "song", "n": 3}, "A song, a Song, another song.",
     "A song and songs."),
    ("json_keys", {"keys": ["a", "b"]}, '```json\n{"a": 1, "b": 2}\n```', '{"a": 1, "c": 2}'),
    ("no_commas", {}, "The forest is green and quiet.", "The forest is green, quiet."),
    ("wrapped_in_quotes", {}, '"Friends help each other."', 'Friends help "each other".'),
    ("title_in_brackets", {}, "<<Rain>>\nDrops fall on the roof.", "Rain\nDrops fall."),
    ("postscript", {"marker": "P.S."}, "Thank you for everything.\nP.S. See you soon.",
     "Thank you for everything."),
    ("placeholder_count", {"n": 2}, "Come on [date] to [place]!", "Come on [date] to the park!"),
    ("paragraph_count", {"n": 2}, "Dogs are loyal.\n***\nThey like walks.",
     "Dogs are loyal.\n\nThey like walks."),
    ("highlight_count", {"n": 2}, "The park has *tall trees* and a *quiet pond*.",
     "The park has **tall trees** and a pond."),
    ("repeats_prompt", {"text": "Name a planet."}, "Name a planet. Mars.", "Mars is a planet."),
]


@pytest.mark.parametrize(("name", "args", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_checker_passes_and_fails(name: str, args: dict[str, Any], good: str, bad: str) -> None:
    assert check(name, good, args) is True
    assert check(name, bad, args) is False


def test_every_registered_checker_is_tested() -> None:
    assert {c[0] for c in CASES} == set(CHECKERS.names())


def test_empty_replies_pass_nothing() -> None:
    for name, args, _, _ in CASES:
        if name in ("max_words",):
            continue
        assert check(name, "", args) is False, name
    assert check("max_words", "", {"n": 5}) is False


def test_the_shipped_sets_are_large_enough_and_valid() -> None:
    sets = probe_sets()
    assert len(sets.instructions) >= 40 and len(sets.questions) >= 40  # issue 13
    assert len({i.id for i in sets.instructions}) == len(sets.instructions)
    assert {i.checker for i in sets.instructions} <= set(CHECKERS.names())
    assert len(sets.passages) >= 10 and len(fisher_passages()) >= 10
    # the Fisher is fitted on other text than the probe scores, and replay asks other things
    assert not set(sets.passages) & set(fisher_passages())
    probe_prompts = {i.prompt for i in sets.instructions} | {q.question for q in sets.questions}
    assert not probe_prompts & set(replay_prompts())
    assert sets.limited(3).instructions == sets.instructions[:3]


def test_closed_book_answers_match_as_whole_words() -> None:
    q = Question("q", "How many grams are in one kilogram?", ("1000", "one thousand"))
    assert answers_correctly("There are 1,000 grams in a kilogram.", q)
    assert answers_correctly("One thousand.", q)
    assert not answers_correctly("There are 10000 grams.", q)
    forty_two = Question("q", "What is 15 plus 27?", ("42", "forty-two"))
    assert answers_correctly("Forty two", forty_two)
    assert not answers_correctly("It is 420.", forty_two)
    zero = Question("q", "At what temperature does water freeze?", ("0", "zero"))
    assert answers_correctly("At sea level, water freezes at exactly 0°C.", zero)
    assert not answers_correctly("It freezes at 10°C.", zero)
