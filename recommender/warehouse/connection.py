"""Opening the warehouse, transactions, and appending Arrow rows to its tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from recommender.config import Settings
from recommender.errors import RecsysError


def job_config(settings: Settings) -> dict[str, Any]:
    """DuckDB's configuration for a job's connections (the warehouse, a new version file):
    the job's threads (``--threads``; DuckDB's default, every core, without) and memory limit."""
    config: dict[str, Any] = {"memory_limit": settings.duckdb_memory}
    if settings.threads:
        config["threads"] = settings.threads
    return config


def connect(settings: Settings, *, read_only: bool = False, progress: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file named by ``settings.warehouse``; ``progress`` turns on DuckDB's
    progress bar for queries over two seconds (for a terminal only: in a log it is noise).

    DuckDB allows one read-write process per file (or many read-only ones), so jobs
    open it for as short as they can and never keep it as a global.
    """
    path = Path(settings.warehouse)
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `recsys migrate` first")
    config = job_config(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only, config=config)
        con.execute(f"set enable_progress_bar = {'true' if progress else 'false'}")
        return con
    except OSError as exc:
        raise WarehouseError(f"cannot create the warehouse folder {path.parent}: {exc.strerror}") from exc
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(f"the warehouse {path} is open in another process (DuckDB allows one writer "
                                 "per file, or many readers); wait for that job to finish") from exc
        raise WarehouseError(f"cannot open the warehouse {path}: {str(exc).splitlines()[0]}") from exc


class WarehouseError(RecsysError):
    """The warehouse file cannot be opened (missing, unwritable, held by another process)."""


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``begin`` ... ``commit``, or ``rollback`` on any exception."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, rows) -> None:
    """Append a ``pyarrow.Table`` to ``table`` (one of the schema's own names, never input).
    Its columns must be the table's, in the table's order: checked, so a reordered or renamed
    column fails here rather than landing in the wrong place."""
    expected = con.table(table).columns
    if list(rows.column_names) != list(expected):
        raise ValueError(f"{table}: got columns {rows.column_names}, the table has {expected}")
    con.from_arrow(rows).insert_into(table)
