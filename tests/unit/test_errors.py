"""One error family: every user-fixable error derives from TunesmithError, the one base the CLI
and the web pages catch."""

from __future__ import annotations

import pytest

from tunesmith.config import ConfigError
from tunesmith.data.sources import SourceError
from tunesmith.errors import TunesmithError
from tunesmith.models.loading import ModelLoadError
from tunesmith.registry import Registry, UnknownNameError
from tunesmith.ui.app import USER_ERRORS
from tunesmith.utils.io import DataFileError


@pytest.mark.parametrize("error", [ConfigError, ModelLoadError, DataFileError, UnknownNameError,
                                   SourceError])
def test_every_user_error_is_a_tunesmith_error(error: type[Exception]) -> None:
    assert issubclass(error, TunesmithError)


def test_the_old_bases_still_hold_for_callers_that_catch_them() -> None:
    assert issubclass(DataFileError, ValueError)
    assert issubclass(UnknownNameError, KeyError)


def test_an_unknown_name_is_caught_as_the_base_with_its_suggestion() -> None:
    registry = Registry[int]("widget")
    registry.register("rules")(1)
    with pytest.raises(TunesmithError, match="did you mean 'rules'"):
        registry.get("rulse")


def test_the_web_pages_catch_the_one_base() -> None:
    assert TunesmithError in USER_ERRORS
