"""The one base class for mistakes a user can fix: the CLI prints them without a traceback.

Raise a subclass (or this class) with a message that names the file, line and key where
possible, and what was expected. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class TunesmithError(Exception):
    """A user-fixable problem: bad input, a missing file, an unsupported combination."""
