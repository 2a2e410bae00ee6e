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

from recommender.errors import RecsysError
from recommender.warehouse.connection import transaction
from recommender.sqlfiles import SqlLibrary

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

class MigrationError(RecsysError):
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
    """Migrations in ``sql_dir/warehouse/migrations``, ordered by version; refuses gaps and odd names."""
    folder = Path(sql_dir) / "warehouse" / "migrations"
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
    library = SqlLibrary(Path(sql_dir))
    # The ledger is the one piece of schema that must exist before any file can run.
    library.run(con, "warehouse/ledger/create.sql")
    applied = {
        version: (name, checksum)
        for version, name, checksum in library.run(con, "warehouse/ledger/applied.sql").fetchall()
    }
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
                library.run(con, f"warehouse/migrations/{migration.path.name}")
                library.run(con, "warehouse/ledger/record.sql", {
                    "version": migration.version, "name": migration.name, "checksum": migration.checksum})
        except duckdb.Error as exc:
            raise MigrationError(f"migration {migration.path.name} failed: {exc}") from exc
        done.append(migration)
    return done


def pending(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[Migration]:
    """Migrations not yet applied (the warehouse is usable only when this is empty)."""
    library = SqlLibrary(Path(sql_dir))
    applied = set()
    if library.run(con, "warehouse/ledger/exists.sql").fetchall()[0][0]:
        applied = {v for v, _, _ in library.run(con, "warehouse/ledger/applied.sql").fetchall()}
    return [m for m in discover(sql_dir) if m.version not in applied]
