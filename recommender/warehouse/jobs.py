"""The job log and the settings row the warehouse views read."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator

import duckdb

from recommender.config import Settings
from recommender.sqlfiles import SqlLibrary


def write_settings(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> None:
    """Make ``settings`` the values the views (``interactions``, ``item_popularity``) use."""
    sql.run(con, "warehouse/jobs/write_settings.sql", {
        "rating_threshold": settings.rating_threshold, "split_strategy": settings.split_strategy,
        "val_quantile": settings.val_quantile, "test_quantile": settings.test_quantile,
        "val_start": settings.val_start, "test_start": settings.test_start,
        "holdout_unit": settings.holdout_unit, "holdout_val": settings.holdout_val,
        "holdout_test": settings.holdout_test, "recent_days": settings.recent_days,
    })


@contextlib.contextmanager
def job(con: duckdb.DuckDBPyConnection, command: str, settings: Settings) -> Iterator[str]:
    """Record a job (command, full settings, outcome) in ``job_log``; yields its id. Jobs a
    killed process left ``running`` are marked ``interrupted`` first."""
    sql = SqlLibrary(settings.sql_dir)
    job_id = uuid.uuid4().hex[:12]
    sql.run(con, "warehouse/jobs/start.sql", {"job_id": job_id, "command": command, "settings": settings.as_json()})
    try:
        yield job_id
    except KeyboardInterrupt:  # Ctrl-C: stopped by the user, not a failure
        with contextlib.suppress(duckdb.Error):  # the connection may itself have been interrupted
            sql.run(con, "warehouse/jobs/finish.sql", {"job_id": job_id, "status": "interrupted", "error": None})
        raise
    except BaseException as exc:
        sql.run(con, "warehouse/jobs/finish.sql", {"job_id": job_id, "status": "failed",
                                         "error": f"{type(exc).__name__}: {exc}"[:2000]})
        raise
    sql.run(con, "warehouse/jobs/finish.sql", {"job_id": job_id, "status": "ok", "error": None})
