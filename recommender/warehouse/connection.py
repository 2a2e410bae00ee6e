"""Opening the warehouse and running SQL files in transactions."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb

from recommender.config import Settings
from recommender.errors import RecsysError

_log = logging.getLogger(__name__)


def connect(settings: Settings, *, read_only: bool = False, progress: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file named by ``settings.warehouse``; ``progress`` turns on DuckDB's
    progress bar for queries over two seconds (for a terminal only: in a log it is noise).

    DuckDB allows one read-write process per file (or many read-only ones), so jobs
    open it for as short as they can and never keep it as a global.
    """
    path = Path(settings.warehouse)
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `recsys migrate` first")
    config: dict[str, Any] = {}
    if settings.threads:
        config["threads"] = settings.threads
    config["memory_limit"] = settings.duckdb_memory
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


#: A named parameter ``$name`` (the whole name: ``$k`` is not ``$kind``).
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class SqlLibrary:
    """Reads the project's ``.sql`` files (``sql/<group>/<name>.sql``) once each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, str] = {}
        self._statements: dict[str, list[tuple[str, frozenset[str]]]] = {}

    def text(self, relative: str) -> str:
        if relative not in self._cache:
            path = self.root / relative
            if not path.exists():
                raise FileNotFoundError(f"SQL file {path} is missing (is RECSYS_SQL_DIR right?)")
            self._cache[relative] = path.read_text(encoding="utf-8")
        return self._cache[relative]

    def run(self, con: duckdb.DuckDBPyConnection, relative: str, params: Mapping[str, Any] | None = None):
        """Run every statement of the file; returns the last statement's result."""
        statements = self._statements.get(relative)
        if statements is None:  # split once per file: the server runs some files per request
            statements = self._statements[relative] = [
                (s, frozenset(_PARAMETER.findall(s))) for s in _split_statements(self.text(relative)) if s.strip()]
        result = None
        started = time.perf_counter()
        for statement, used in statements:
            names = {k: v for k, v in (params or {}).items() if k in used}
            result = con.execute(statement, names) if names else con.execute(statement)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(f"  sql {relative}: {time.perf_counter() - started:.2f}s")
        return result

    def arrow(self, con: duckdb.DuckDBPyConnection, relative: str, params: Mapping[str, Any] | None = None):
        """Run a one-query file and return a ``pyarrow.Table``."""
        return query_arrow(con, self.text(relative), params)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, rows) -> None:
    """Append a ``pyarrow.Table`` to ``table`` (one of the schema's own names, never input).
    Its columns must be the table's, in the table's order: checked, so a reordered or renamed
    column fails here rather than landing in the wrong place."""
    expected = con.table(table).columns
    if list(rows.column_names) != list(expected):
        raise ValueError(f"{table}: got columns {rows.column_names}, the table has {expected}")
    con.from_arrow(rows).insert_into(table)


def query_arrow(con: duckdb.DuckDBPyConnection, sql_text: str, params: Mapping[str, Any] | None = None):
    """Run one query as a relation and return all rows as a ``pyarrow.Table``."""
    rel = con.sql(sql_text, params=dict(params) if params else None)
    return rel.to_arrow_table()


def _split_statements(text: str) -> list[str]:
    """Split a SQL script on ``;`` outside quotes and ``--`` comments."""
    statements, current, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            current.append(ch)
        elif ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end  # comments are dropped: `$name` there is no parameter
            continue
        elif ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())
