"""The one error family: every expected failure derives from ``RecsysError``.

``recsys`` prints such an error as one line (with its hint) and exits 2; the server maps
the family to 4xx/503. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RecsysError(Exception):
    """An expected failure with a message meant for the user."""


class UserFacingError(RecsysError):
    """A command's own refusal (bad combination of arguments, missing prerequisite)."""
