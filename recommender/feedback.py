"""Feedback stores: where ratings posted to the API live until `recsys ingest-feedback`
copies them into the warehouse.

Every store answers ``store_id`` and ``since(after, limit)`` (ratings numbered by ``seq``
in the order they were stored), which is all a copy needs: the warehouse keeps the highest
``seq`` it has per store as the watermark of the next copy. Two ways in:

- ``DuckDBFeedbackStore``: the server's own file. DuckDB lets one process write a file or
  several read it, never both, so the CLI can open it only while no server holds it;
- ``HttpFeedbackSource``: the same pages through a running server (``GET /admin/feedback``).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb

from recommender.errors import RecsysError
from recommender.warehouse.connection import SqlLibrary

#: Ratings per page of a copy.
PAGE = 50_000


class FeedbackError(RecsysError):
    """A feedback store cannot be read (busy, missing, unreachable)."""


class FeedbackStoreBusy(FeedbackError):
    """Another process holds the feedback file."""


@dataclass(frozen=True)
class FeedbackRow:
    seq: int
    user_id: int
    movie_id: int
    rating: float
    ts: int  # when it was stored, Unix seconds


class FeedbackSource(Protocol):
    @property
    def store_id(self) -> str: ...

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        """Ratings with ``seq > after``, oldest first, at most ``limit``."""


class DuckDBFeedbackStore:
    """A feedback file: written by one server, read by the CLI while no server holds it."""

    def __init__(self, path: Path, sql: SqlLibrary, *, read_only: bool = False) -> None:
        path = Path(path)
        if read_only and not path.exists():
            raise FeedbackError(f"no feedback file at {path}")
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:  # DuckDB: one writing process per file
            raise FeedbackStoreBusy(
                f"{path} is in use by another process (a running server owns its feedback file: read it "
                f"through the server with --server http://HOST:PORT, or give a second server its own file "
                f"with RECSYS_FEEDBACK_DB)"
            ) from exc
        self._sql = sql
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        if not read_only:
            sql.run(self._con, "feedback/schema.sql", {"store_id": uuid.uuid4().hex})
        self._store_id = sql.run(self._con, "feedback/store_id.sql").fetchall()[0][0]

    @property
    def store_id(self) -> str:
        return self._store_id

    def add(self, user_id: int, movie_id: int, rating: float) -> int:
        """Store one rating; returns its seq."""
        with self._lock:
            return self._sql.run(
                self._con, "feedback/add.sql", {"user_id": user_id, "movie_id": movie_id, "rating": rating}
            ).fetchall()[0][0]

    def of_user(self, user_id: int) -> list[tuple[int, float]]:
        """(movie_id, rating) of the user's latest rating per movie."""
        with self._lock:
            return self._sql.run(self._con, "feedback/of_user.sql", {"user_id": user_id}).fetchall()

    def counts(self) -> dict[int, int]:
        """Ratings stored per user."""
        with self._lock:
            return dict(self._sql.run(self._con, "feedback/counts.sql").fetchall())

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        with self._lock:
            rows = self._sql.run(self._con, "feedback/since.sql", {"after": after, "limit": limit}).fetchall()
        return [FeedbackRow(*row) for row in rows]

    def close(self) -> None:
        self._con.close()


class HttpFeedbackSource:
    """A running server's feedback, page by page through ``GET /admin/feedback``."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 60.0) -> None:
        if not api_key:
            raise FeedbackError("reading feedback through the server needs its admin key: set RECSYS_ADMIN_KEY")
        self.base_url, self._key, self._timeout = base_url.rstrip("/"), api_key, timeout_s
        self._store_id: str | None = None

    @property
    def store_id(self) -> str:
        if self._store_id is None:
            self.since(0, 1)
        assert self._store_id is not None
        return self._store_id

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        url = f"{self.base_url}/admin/feedback?" + urllib.parse.urlencode({"after": after, "limit": limit})
        request = urllib.request.Request(url, headers={"X-API-Key": self._key})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                page = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise FeedbackError(f"{url}: the server answered {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FeedbackError(f"{url}: cannot read the server's feedback ({exc})") from exc
        self._store_id = page["store_id"]
        return [FeedbackRow(r["seq"], r["user_id"], r["movie_id"], r["rating"], r["ts"]) for r in page["ratings"]]
