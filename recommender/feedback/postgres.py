"""The shared feedback store: PostgreSQL (``RECSYS_FEEDBACK_URL=postgresql://...``).

Any number of server processes (``recsys serve --workers N``, servers on other machines) write
to and read from one database through a psycopg 3 connection pool each. A rating is committed
before the API acknowledges it. Every insert notifies the channel ``recsys_feedback`` with the
user id (a trigger: sql/feedback_postgres/migrations/001_feedback.sql); each server listens on
its own connection, on a thread, and moves that user's feedback generation, so its cached
answers for the user become unreachable without a query per request.

The schema has its own versioned migrations (``sql/feedback_postgres/migrations``), applied
by the first server or CLI command that opens the database. Needs the optional extra
``pip install -e ".[postgres]"``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from recommender.feedback.base import PAGE, FeedbackError, FeedbackRow, FeedbackUnavailable
from recommender.sqlfiles import SqlLibrary

#: Where the store's SQL lives, under the project's SQL folder.
SQL_GROUP = "feedback_postgres"
_MIGRATION = re.compile(r"^\d{3}_\w+\.sql$")
#: Seconds a request waits for a pooled connection before the API answers 503.
CONNECTION_WAIT_S = 2.0
#: The listener's connection: TCP keepalives and a probe, so a silently dead link (a
#: partition, a NAT timeout) is noticed, reconnected and resynced instead of listening forever.
LISTENER_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
PROBE_EVERY_S = 30.0
_log = logging.getLogger(__name__)


def is_postgres_url(url: str | None) -> bool:
    return url is not None and url.split(":", 1)[0] in ("postgresql", "postgres")


class PostgresFeedbackStore:
    """Ratings in PostgreSQL, shared by every server pointed at the same database."""

    def __init__(self, url: str, sql: SqlLibrary, *, pool_size: int = 4, connect_timeout_s: float = 10.0) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError as exc:  # an optional extra
            raise FeedbackError('a PostgreSQL feedback store needs psycopg 3: pip install -e ".[postgres]"') from exc
        self._psycopg, self._pool_timeout = psycopg, PoolTimeout
        self._url, self._sql, self._connect_timeout = url, sql, max(1, int(connect_timeout_s))
        #: Backend pids of this process's pool connections: their own notifications are skipped
        #: (``add``'s caller already knows of the rating).
        self._own_pids: set[int] = set()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=CONNECTION_WAIT_S,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced
            configure=lambda con: self._own_pids.add(con.info.backend_pid),
            kwargs={"connect_timeout": self._connect_timeout},
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except PoolTimeout as exc:
            self._pool.close()
            raise FeedbackUnavailable(f"cannot connect to the feedback database {safe_url(url)}") from exc
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        try:
            migrate(self._pool, sql)
            self._store_id = self._one("store_id.sql")[0][0]
        except (psycopg.Error, FeedbackError) as exc:
            self._pool.close()
            raise FeedbackError(f"the feedback database {safe_url(url)}: {_first_line(exc)}") from exc

    @property
    def store_id(self) -> str:
        return self._store_id

    def add(self, user_id: int, movie_id: int, rating: float) -> int:
        """Store one rating (committed when this returns); returns its seq."""
        return self._one("add.sql", {"user_id": user_id, "movie_id": movie_id, "rating": rating})[0][0]

    def of_user(self, user_id: int) -> list[tuple[int, float]]:
        return [(m, float(r)) for m, r in self._one("of_user.sql", {"user_id": user_id})]

    def counts(self) -> dict[int, int]:
        return dict(self._one("counts.sql"))

    def since(self, after: int, limit: int = PAGE) -> list[FeedbackRow]:
        rows = self._one("since.sql", {"after": after, "limit": limit})
        return [FeedbackRow(s, u, m, float(r), t) for s, u, m, r, t in rows]

    def watch(self, changed: Callable[[int], None], resync: Callable[[], None]) -> None:
        """LISTEN on a connection of its own, on a daemon thread: ``changed(user_id)`` per
        notification; ``resync()`` after every (re)connection, since notifications sent while
        it was away are lost (PostgreSQL keeps none for an absent listener)."""
        if self._listener is not None:
            raise FeedbackError("this store is already watched")
        self._listener = threading.Thread(
            target=self._listen, args=(changed, resync), name="feedback-listener", daemon=True
        )
        self._listener.start()

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._pool.close()

    # -- internals ---------------------------------------------------------------------
    def _one(self, name: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """Run one statement in its own transaction (committed on success) and fetch its rows;
        a database that does not answer is ``FeedbackUnavailable`` (a 503), never a hang."""
        try:
            with self._pool.connection() as con:
                cur = con.execute(self._sql.text(f"{SQL_GROUP}/{name}"), params)
                return cur.fetchall() if cur.description else []
        except (self._psycopg.OperationalError, self._pool_timeout) as exc:
            raise FeedbackUnavailable(f"the feedback database does not answer: {_first_line(exc)}") from exc

    def _listen(self, changed: Callable[[int], None], resync: Callable[[], None]) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                with self._psycopg.connect(
                    self._url, autocommit=True, connect_timeout=self._connect_timeout, **LISTENER_KEEPALIVE
                ) as con:
                    con.execute(self._sql.text(f"{SQL_GROUP}/listen.sql"))
                    resync()
                    delay, probed = 0.1, time.monotonic()
                    while not self._stop.is_set():
                        # returns after a second without news, to see the stop flag
                        for note in con.notifies(timeout=1.0):
                            if note.pid not in self._own_pids:
                                changed(int(note.payload))
                        if time.monotonic() - probed > PROBE_EVERY_S:  # a dead link raises here
                            con.execute(self._sql.text(f"{SQL_GROUP}/probe.sql"))
                            probed = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a lost connection: reconnect, resync
                if self._stop.is_set():
                    return
                _log.warning("feedback listener: %s; reconnecting in %.1fs", _first_line(exc), delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)


def migrate(pool, sql: SqlLibrary) -> list[str]:
    """Apply the store's migrations this database lacks, each in one transaction with its
    record; returns the names applied. Up to date, it only reads (a role without CREATE
    rights can run servers once the schema is in place)."""
    folder = sql.root / SQL_GROUP / "migrations"
    names = sorted(p.name for p in folder.iterdir() if _MIGRATION.match(p.name))
    with pool.connection() as con:
        if set(names) <= _applied(con, sql):
            return []
    applied = []
    with pool.connection() as con, con.transaction():
        con.execute(sql.text(f"{SQL_GROUP}/migrations_lock.sql"))
        done = _applied(con, sql)
        for name in names:
            if name in done:
                continue
            with con.transaction():
                con.execute(sql.text(f"{SQL_GROUP}/migrations/{name}"))
                con.execute(sql.text(f"{SQL_GROUP}/migration_done.sql"), {"name": name})
            applied.append(name)
    return applied


def _applied(con, sql: SqlLibrary) -> set[str]:
    """Names of the applied migrations (none before the record table exists)."""
    if con.execute(sql.text(f"{SQL_GROUP}/migrations_table.sql")).fetchone()[0] is None:
        return set()
    return {row[0] for row in con.execute(sql.text(f"{SQL_GROUP}/migrations_applied.sql")).fetchall()}


def safe_url(url: str) -> str:
    """The connection string without its password, for messages and logs (URL or key=value form)."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - unparsable: show nothing of it
        return "(an unreadable connection string)"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**{k: str(v) for k, v in parts.items()})


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
