"""A small served warehouse built once per test module: ingest, evaluate, precompute."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from recommender.config import Settings
from recommender.jobs.main import Steps, model_and_publish
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse import build_splits, connect, ingest, migrate
from server import ServerConfig, create_app
from tests.movielens_fixtures import random_movielens


def build_served_warehouse(root, **settings_overrides) -> Settings:
    settings = Settings(
        warehouse=root / "warehouse" / "movielens.duckdb", split_strategy="per_user", **settings_overrides
    )
    folder = random_movielens(root / "ml", users=80, movies=40)
    sql = SqlLibrary(settings.sql_dir)
    con = connect(settings)
    try:
        migrate(con, settings.sql_dir)
        ingest(con, sql, folder)
        build_splits(con, sql, settings)
        # the main job's own sequence, without tuning or the ranker (seconds, not minutes)
        model_and_publish(con, sql, settings, Steps(tune=False, ranker=False))
    finally:
        con.close()
    return settings


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Settings:
    return build_served_warehouse(tmp_path_factory.mktemp("served"))


@pytest.fixture
def client(served, tmp_path):
    # a fresh feedback file per test; the published version is shared (read-only)
    config = ServerConfig.from_env(
        served, environ={"RECSYS_ADMIN_KEY": "test-key", "RECSYS_FEEDBACK_DB": str(tmp_path / "feedback.duckdb")}
    )
    with TestClient(create_app(config)) as c:
        yield c
