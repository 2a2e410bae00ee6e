"""The project's ``.sql`` files: read once each, split into statements, run with named
parameters. The lowest layer beside config and errors: the warehouse, the feedback stores and
the version builder all run SQL through it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

_log = logging.getLogger(__name__)

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
                (s, frozenset(_PARAMETER.findall(s))) for s in _split_statements(self.text(relative)) if s.strip()
            ]
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
