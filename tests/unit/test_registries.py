"""Each registry and every table derived from it agree: a name added in one place and not the
other fails here, not for a user."""

from __future__ import annotations

import typing

from tunesmith.config.data_gen import GenerateConfig
from tunesmith.data.formats import EXPORTERS, IMPORTERS
from tunesmith.data.generate import GENERATORS
from tunesmith.guard.gates import GATES
from tunesmith.methods import METHODS
from tunesmith.plan.methods import PROFILES

# `peft` wraps whichever PEFT tuner its `peft_type` names, so no one memory profile fits it
UNSIZED = {"peft"}


def test_the_planner_sizes_every_registered_method_and_no_other() -> None:
    assert set(PROFILES) == set(METHODS.names()) - UNSIZED


def test_the_generator_choices_of_the_config_are_the_registered_generators() -> None:
    choices = typing.get_args(GenerateConfig.model_fields["generator"].annotation)
    assert set(choices) == set(GENERATORS.names())


def test_every_registry_has_members_with_unique_names() -> None:
    for registry in (METHODS, GENERATORS, GATES, IMPORTERS, EXPORTERS):
        names = registry.names()
        assert names and len(names) == len(set(names)), registry.kind
