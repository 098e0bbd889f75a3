"""The one base class for mistakes a user can fix: the CLI prints them without a traceback.

Raise a subclass (or this class) with a message that names the file, line and key where
possible, and what was expected. Programming errors stay ordinary exceptions; so do the
``ValueError`` of a pydantic validator, which the config turns into a ``ConfigError``.

The family: ``config.ConfigError`` (a config to fix; exit code 2), ``models.loading.
ModelLoadError``, ``utils.io.DataFileError`` (a malformed data file; also a ``ValueError``),
``registry.UnknownNameError`` (a name nothing registered; also a ``KeyError``),
``data.sources.SourceError`` and the stage-specific ones (``EstimateError``, ``ExportError``,
...). The CLI (``cli/common.py: guarded``) and the web pages catch this one base.
"""

from __future__ import annotations


class TunesmithError(Exception):
    """A user-fixable problem: bad input, a missing file, an unsupported combination."""
