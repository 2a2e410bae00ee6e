"""Serving truth on real MovieLens data: after the main job, no published list and no API
answer holds a movie the user rated, at any value (the defect the serving issue found:
26 % of ALS's top-20 rows were already rated)."""

import duckdb
import pytest
from litestar.testing import TestClient

from recommender.cli import main
from recommender.config import Settings
from recommender.names import MODEL_NAMES
from recommender.serving.versions import read_pointer
from server import ServerConfig, create_app
from tests.conftest import real_data_dir

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

MODELS = ("als", "diverse", "itemknn", "popular")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = real_data_dir()
    root = tmp_path_factory.mktemp("serving-real")
    settings = Settings(warehouse=root / "movielens.duckdb", split_strategy="per_user")
    assert (
        main(
            [
                "run",
                str(folder),
                "--split",
                "per-user",
                "--warehouse",
                str(settings.warehouse),
                "--out",
                str(root / "reports"),
                "--trials",
                "2",
            ]
        )
        == 0
    )
    return settings


def test_no_published_row_is_a_rated_movie(published):
    con = duckdb.connect()
    try:
        con.execute(f"attach '{read_pointer(published.serving_dir).folder / 'recs.duckdb'}' as recs (read_only)")
        con.execute(f"attach '{published.warehouse}' as wh (read_only)")
        rows = con.execute("select count(*) from recs.recommendations").fetchall()[0][0]
        rated = con.execute(
            "select count(*) from recs.recommendations r join wh.raw_ratings x using (user_id, movie_id)"
        ).fetchall()[0][0]
        users = con.execute("select count(distinct user_id) from recs.recommendations").fetchall()[0][0]
        raters = con.execute("select count(distinct user_id) from wh.raw_ratings").fetchall()[0][0]
        production = con.execute(
            "select count(*) from wh.runs where kind = 'production' and fit_parts = 'all' "
            "and evaluated_run_id is not null"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert rows == len(MODEL_NAMES) * 20 * users and rated == 0
    assert users == raters == 610  # every rater, the one without a positive included
    assert production == len(MODEL_NAMES)


def test_api_answers_never_hold_a_rated_movie(published, tmp_path):
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        users = [
            u
            for (u,) in con.execute(
                "select distinct user_id from raw_ratings using sample 40 rows (reservoir, 7)"
            ).fetchall()
        ]
        users += [68, 75]  # the examples: Back to the Future Part II and The Matrix, both rated 1.0
        rated = {
            u: {m for (m,) in con.execute("select movie_id from raw_ratings where user_id = ?", [u]).fetchall()}
            for u in users
        }
    finally:
        con.close()
    config = ServerConfig.from_env(
        published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off"}
    )
    with TestClient(create_app(config)) as client:
        for user in users:
            for model in MODELS:
                body = client.get(f"/recommend/{user}?k=20&model={model}").json()
                assert len(body["items"]) == 20
                assert not {i["movie_id"] for i in body["items"]} & rated[user], (user, model)
            both = client.get(f"/compare/{user}?k=20").json()
            for side in ("accuracy", "discovery"):
                assert not {i["movie_id"] for i in both[side]["items"]} & rated[user], (user, side)
