from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from recommender.config import REPO_ROOT, Settings
from recommender.datasets import bundled_dir
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.connection import connect
from recommender.warehouse.ingest import ingest
from recommender.warehouse.migrations import migrate
from recommender.warehouse.splits import build_splits
from tests.movielens_fixtures import make_movielens

# a recsys.toml in the working folder must not change a test: tests that read a config file
# name it (RECSYS_CONFIG, or Settings.resolve's environ)
os.environ["RECSYS_CONFIG"] = "none"

SQL_DIR = REPO_ROOT / "sql"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(warehouse=tmp_path / "wh" / "movielens.duckdb", data_dir=tmp_path / "raw")


@pytest.fixture
def sql() -> SqlLibrary:
    return SqlLibrary(SQL_DIR)


@pytest.fixture
def memory_warehouse() -> duckdb.DuckDBPyConnection:
    """A migrated in-memory warehouse (no data)."""
    con = duckdb.connect()
    migrate(con, SQL_DIR)
    yield con
    con.close()


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    return make_movielens(tmp_path / "ml-tiny")


@pytest.fixture
def loaded_warehouse(settings: Settings, sql: SqlLibrary, small_folder: Path):
    """A file warehouse with the tiny fixture ingested and split; yields (con, settings)."""
    con = connect(settings)
    migrate(con, settings.sql_dir)
    ingest(con, sql, small_folder)
    build_splits(con, sql, settings)
    yield con, settings
    con.close()


def real_data_dir() -> Path:
    """The real MovieLens folder for the realdata tests: RECSYS_TEST_DATA, else the bundled
    ml-latest-small (so a plain `pytest` runs them)."""
    folder = os.environ.get("RECSYS_TEST_DATA")
    if not folder:
        return bundled_dir()
    path = Path(folder)
    if not any((path / name).exists() for name in ("ratings.csv", "ratings.csv.gz", "u.data")):
        pytest.fail(f"RECSYS_TEST_DATA={folder} holds no MovieLens ratings file")
    return path
