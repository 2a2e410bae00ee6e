"""The embedded feedback store: a DuckDB file (``feedback.duckdb``) one server process owns.

DuckDB lets one process write a file or several read it, never both, so the CLI can open it
only while no server holds it (or reads it through the server: ``http.py``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb

from recommender.feedback.base import PAGE, FeedbackError, FeedbackRow, FeedbackStoreBusy
from recommender.sqlfiles import SqlLibrary

#: What DuckDB says of a file that is not a readable database (truncated, overwritten, damaged).
CORRUPT_SIGNS = ("not a valid DuckDB database", "Corrupt database file", "Could not read enough bytes", "checksum")


def _refusal(path: Path, exc: duckdb.Error) -> FeedbackError:
    """The one line for a feedback file DuckDB cannot use: held by another process (DuckDB
    lets one process write a file), damaged (say where it is and how to recover; nothing is
    deleted for the user), or another problem, in DuckDB's words."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Could not set lock" in reason:
        return FeedbackStoreBusy(
            f"{path} is in use by another process (a running server owns its feedback file: read it "
            f"through the server with --server http://HOST:PORT, or give a second server its own file "
            f"with RECSYS_FEEDBACK_DB)"
        )
    if any(sign in reason for sign in CORRUPT_SIGNS):
        return FeedbackError(
            f"the feedback file {path} is corrupt ({reason}); restore it from a backup, or move it aside "
            f"(mv {path} {path}.corrupt) and a new, empty one is made on the next start (the ratings in "
            f"the damaged file are then neither served nor ingested)"
        )
    return FeedbackError(f"cannot open the feedback file {path}: {reason}")


class DuckDBFeedbackStore:
    """A feedback file: written by one server, read by the CLI while no server holds it."""

    def __init__(self, path: Path, sql: SqlLibrary, *, read_only: bool = False) -> None:
        path = Path(path)
        if read_only and not path.exists():
            raise FeedbackError(f"no feedback file at {path}")
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._sql = sql
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise _refusal(path, exc) from None
        try:
            if not read_only:
                sql.run(self._con, "feedback/schema.sql", {"store_id": uuid.uuid4().hex})
            self._store_id = sql.run(self._con, "feedback/store_id.sql").fetchall()[0][0]
            sql.run(self._con, "feedback/counts.sql").fetchall()  # reads every block once: checksums checked
        except duckdb.Error as exc:
            self._con.close()
            raise _refusal(path, exc) from None

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

    def watch(self, changed: Callable[[int], None], resync: Callable[[], None]) -> None:
        """Nothing to watch: no other process writes this file."""
