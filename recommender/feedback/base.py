"""What every feedback store shares: its rows, its errors and the reading interface.

Ratings posted to the API are numbered by ``seq`` in the order they were stored; that is all
a copy into the warehouse needs (it keeps the highest ``seq`` it has per store as the
watermark of the next copy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from recommender.errors import RecsysError, Unavailable

#: Ratings per page of a copy.
PAGE = 50_000


class FeedbackError(RecsysError):
    """A feedback store cannot be read (busy, missing, unreachable)."""


class FeedbackStoreBusy(FeedbackError):
    """Another process holds the feedback file."""


class FeedbackUnavailable(FeedbackError, Unavailable):
    """The shared feedback database does not answer (the API says 503)."""


@dataclass(frozen=True)
class FeedbackRow:
    seq: int
    user_id: int
    movie_id: int
    rating: float
    ts: int  # when it was stored, Unix seconds


class FeedbackSource(Protocol):
    """What `recsys ingest-feedback` reads."""

    @property
    def store_id(self) -> str: ...

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        """Ratings with ``seq > after``, oldest first, at most ``limit``."""


class FeedbackStore(FeedbackSource, Protocol):
    """What a server writes its ratings to and reads them back from."""

    def add(self, user_id: int, movie_id: int, rating: float) -> int:
        """Store one rating durably; returns its seq."""

    def of_user(self, user_id: int) -> list[tuple[int, float]]:
        """(movie_id, rating) of the user's latest rating per movie."""

    def counts(self) -> dict[int, int]:
        """Ratings stored per user."""

    def watch(self, changed: Callable[[int], None], resync: Callable[[], None]) -> None:
        """Call ``changed(user_id)`` whenever another process stores a rating for that user
        (and ``resync()`` when such news may have been missed); a store only one process
        writes has nothing to watch."""

    def close(self) -> None: ...
