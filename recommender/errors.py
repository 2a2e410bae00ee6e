"""The one error family: every expected failure derives from ``RecsysError``.

``recsys`` prints such an error as one line (with its hint) and exits 2; the server maps
the family to 4xx/503. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RecsysError(Exception):
    """An expected failure with a message meant for the user."""

    #: What ``recsys`` calls it in its one line: "recsys COMMAND: LABEL: message".
    label = "error"


class UserFacingError(RecsysError):
    """A command's own refusal (bad combination of arguments, missing prerequisite)."""


class DataError(RecsysError):
    """The warehouse lacks what a job needs (no ratings, no split, no evaluated runs)."""


# -- what the API answers with (one exception handler maps them to HTTP statuses) -----------


class InvalidInput(RecsysError):
    """A request's value is out of range or malformed (HTTP 400)."""


#: The most characters of a client's input an answer quotes back.
QUOTED_INPUT = 200


def quoted(value: object) -> str:
    """``repr(value)``, cut to QUOTED_INPUT characters: an answer or a log line names what was
    refused without echoing a megabyte of it."""
    text = repr(value)
    return text if len(text) <= QUOTED_INPUT else f"{text[:QUOTED_INPUT]}... ({len(text):,} characters)"


class NotFound(RecsysError):
    """A requested movie or user is unknown (HTTP 404)."""


class Unavailable(RecsysError):
    """The service cannot answer now: nothing published, or a version cannot be opened (HTTP 503)."""
