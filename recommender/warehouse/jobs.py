"""The job log and the settings row the warehouse views read."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator

import duckdb

from recommender.config import Settings


def write_settings(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Make ``settings`` the values the views (``interactions``, ``item_popularity``) use."""
    con.execute("delete from settings")
    con.execute(
        "insert into settings values (?, ?, ?, ?, ?::timestamp, ?::timestamp, ?, ?, ?, ?, now()::timestamp)",
        [
            settings.rating_threshold,
            settings.split_strategy,
            settings.val_quantile,
            settings.test_quantile,
            settings.val_start,
            settings.test_start,
            settings.holdout_unit,
            settings.holdout_val,
            settings.holdout_test,
            settings.recent_days,
        ],
    )


@contextlib.contextmanager
def job(con: duckdb.DuckDBPyConnection, command: str, settings: Settings) -> Iterator[str]:
    """Record a job (command, full settings, outcome) in ``job_log``; yields its id."""
    job_id = uuid.uuid4().hex[:12]
    con.execute(
        "insert into job_log values (?, ?, now()::timestamp, null, 'running', null, ?)",
        [job_id, command, settings.as_json()],
    )
    try:
        yield job_id
    except BaseException as exc:
        con.execute(
            "update job_log set finished_at = now()::timestamp, status = 'failed', error = ? where job_id = ?",
            [f"{type(exc).__name__}: {exc}"[:2000], job_id],
        )
        raise
    con.execute(
        "update job_log set finished_at = now()::timestamp, status = 'ok' where job_id = ?", [job_id]
    )
