import shutil
from pathlib import Path

import duckdb
import pytest

from recommender.warehouse.migrations import MigrationError, discover, migrate, pending
from tests.conftest import SQL_DIR


def test_migrate_applies_all_then_is_a_no_op():
    con = duckdb.connect()
    applied = migrate(con, SQL_DIR)
    assert [m.version for m in applied] == list(range(1, len(discover(SQL_DIR)) + 1))
    assert migrate(con, SQL_DIR) == []
    assert pending(con, SQL_DIR) == []
    rows = con.execute("select version, name, length(checksum) from schema_migrations order by version").fetchall()
    assert rows[0] == (1, "raw_tables", 64)


def _copy_sql(tmp_path: Path) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(SQL_DIR, target)
    return target


def test_changed_applied_migration_is_refused(tmp_path):
    sql_dir = _copy_sql(tmp_path)
    con = duckdb.connect()
    migrate(con, sql_dir)
    first = sql_dir / "warehouse" / "migrations" / "001_raw_tables.sql"
    first.write_text(first.read_text() + "\n-- an edit\n")
    with pytest.raises(MigrationError, match="001_raw_tables.sql was changed after it was applied"):
        migrate(con, sql_dir)


def test_failing_migration_leaves_no_trace(tmp_path):
    sql_dir = _copy_sql(tmp_path)
    n = len(discover(sql_dir))
    (sql_dir / "warehouse" / "migrations" / f"{n + 1:03d}_broken.sql").write_text(
        "create table half_done (a integer);\nselect * from no_such_table;\n"
    )
    con = duckdb.connect()
    with pytest.raises(MigrationError, match="broken.sql failed"):
        migrate(con, sql_dir)
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "half_done" not in tables
    assert con.execute("select max(version) from schema_migrations").fetchall()[0][0] == n


def test_misnamed_or_gapped_migrations_are_refused(tmp_path):
    sql_dir = _copy_sql(tmp_path)
    (sql_dir / "warehouse" / "migrations" / "099_late.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="without gaps"):
        discover(sql_dir)
    (sql_dir / "warehouse" / "migrations" / "099_late.sql").rename(sql_dir / "warehouse" / "migrations" / "Late.sql")
    with pytest.raises(MigrationError, match="NNN_name.sql"):
        discover(sql_dir)
