"""Versioned schema migrations: ``sql/migrations/NNN_name.sql`` applied in order.

Each file runs in its own transaction together with its ``schema_migrations`` row,
so a failing migration leaves no trace. A file changed after it was applied is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recommender.warehouse.connection import SqlLibrary, scalar, transaction

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

_LEDGER = """
create table if not exists schema_migrations (
    version integer,
    name varchar,
    checksum varchar,
    applied_at timestamp
)
"""


class MigrationError(RuntimeError):
    """A migration file is malformed, changed after being applied, or failed."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(sql_dir: Path) -> list[Migration]:
    """Migrations in ``sql_dir/migrations``, ordered by version; refuses gaps and odd names."""
    folder = Path(sql_dir) / "migrations"
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..N without gaps, found {versions}")
    return found


def migrate(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[Migration]:
    """Apply every pending migration; returns those applied (empty when up to date)."""
    # The ledger is the one piece of schema that must exist before any file can run.
    con.execute(_LEDGER)
    applied = {
        version: (name, checksum)
        for version, name, checksum in con.execute(
            "select version, name, checksum from schema_migrations"
        ).fetchall()
    }
    library = SqlLibrary(Path(sql_dir))
    done = []
    for migration in discover(sql_dir):
        if migration.version in applied:
            name, checksum = applied[migration.version]
            if checksum != migration.checksum:
                raise MigrationError(
                    f"migration {migration.path.name} was changed after it was applied "
                    f"(recorded checksum {checksum[:12]}, file now {migration.checksum[:12]}); "
                    "add a new migration instead of editing an applied one"
                )
            continue
        try:
            with transaction(con):
                library.run(con, f"migrations/{migration.path.name}")
                con.execute(
                    "insert into schema_migrations values (?, ?, ?, now()::timestamp)",
                    [migration.version, migration.name, migration.checksum],
                )
        except duckdb.Error as exc:
            raise MigrationError(f"migration {migration.path.name} failed: {exc}") from exc
        done.append(migration)
    return done


def pending(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[Migration]:
    """Migrations not yet applied (the warehouse is usable only when this is empty)."""
    exists = scalar(con, "select count(*) from information_schema.tables where table_name = 'schema_migrations'")
    applied = set()
    if exists:
        applied = {v for (v,) in con.execute("select version from schema_migrations").fetchall()}
    return [m for m in discover(sql_dir) if m.version not in applied]
