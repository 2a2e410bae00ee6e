"""Served lists equal evaluated lists (tables and the server's in-memory index); a failing data
check blocks publication."""

import json
import shutil

import duckdb
import numpy as np
import pytest

from recommender.jobs.publish import PublishError, precompute_and_publish
from recommender.lists.served import popularity_fallback, served_lists
from recommender.models import load as load_model
from recommender.names import MODEL_NAMES
from recommender.sqlfiles import SqlLibrary
from recommender.version.format import FORMAT_VERSION, format_of
from recommender.version.registry import read_pointer
from recommender.warehouse import connect
from recommender.warehouse.export import load_item_genres, load_production

pytestmark = pytest.mark.slow


def _published(served):
    folder = read_pointer(served.serving_dir).folder
    recs = duckdb.connect(str(folder / "recs.duckdb"), read_only=True)
    try:
        runs, production_runs = (
            json.loads(v) for v in recs.execute("select runs, production_runs from version_info").fetchall()[0]
        )
        lists = {
            model: dict(
                recs.execute(
                    "select user_id, list(movie_id order by rank) from recommendations "
                    "where model = ? group by user_id",
                    [model],
                ).fetchall()
            )
            for model in runs
        }
    finally:
        recs.close()
    return runs, production_runs, lists


def test_served_lists_are_the_production_fits_lists_by_the_evaluations_function(served):
    """Same function (served_lists), same inputs (the production fit, every positive as history,
    every rated movie excluded), same lists."""
    runs, production_runs, published = _published(served)
    con = connect(served)
    sql = SqlLibrary(served.sql_dir)
    try:
        data = load_production(con, sql, served.rating_threshold)
        rows = con.execute(
            "select model, artifact, fit_parts, evaluated_run_id from runs where kind = 'production' "
            "and list_contains(?, run_id)",
            [list(production_runs.values())],
        ).fetchall()
    finally:
        con.close()
    assert sorted(r[0] for r in rows) == sorted(MODEL_NAMES)
    history, exclude = data.matrix("train"), data.excluded("train")
    users = np.arange(len(data.user_ids))
    for model_name, artifact, fit_parts, evaluated_run_id in rows:
        assert fit_parts == "all" and evaluated_run_id == runs[model_name]
        model = load_model(artifact)
        if model_name == "diverse" and model.params.similarity == "genres":
            model.item_genres = load_item_genres(connect(served, read_only=True), sql, data.item_ids)[0]
        lists = served_lists(model, users, history, 20, popularity_fallback(history), exclude=exclude)
        for u, row in zip(users, lists.items):
            expected = [int(data.item_ids[i]) for i in row if i >= 0]
            assert published[model_name][int(data.user_ids[u])] == expected, (model_name, int(data.user_ids[u]))


def test_no_published_list_holds_a_rated_movie(served):
    """Checked against the CSV's ratings at every value, not only the positives."""
    folder = read_pointer(served.serving_dir).folder
    con = duckdb.connect()
    try:
        con.execute(f"attach '{folder / 'recs.duckdb'}' as recs (read_only)")
        con.execute(f"attach '{served.warehouse}' as wh (read_only)")
        low = con.execute("select count(*) from wh.raw_ratings where rating < 4").fetchall()[0][0]
        assert low > 0  # the fixture has sub-threshold ratings, so this check can fail
        users = con.execute("select count(distinct user_id) from recs.recommendations").fetchall()[0][0]
        raters = con.execute("select count(distinct user_id) from wh.raw_ratings").fetchall()[0][0]
        bad = con.execute(
            "select count(*) from recs.recommendations r join wh.raw_ratings x using (user_id, movie_id)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert bad == 0 and users == raters


def test_a_failing_check_keeps_the_old_version(served, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(served.sql_dir, sql_dir)
    (sql_dir / "version" / "checks" / "zz_no_top_movie.sql").write_text(
        "-- a check that returns rows when the most popular movie is recommended to anyone (it is)\n"
        "select model, user_id from recommendations\n"
        "where movie_id = (select movie_id from popular_movies where rank = 1) limit 1;\n"
    )
    settings = served.replace(sql_dir=sql_dir)
    before = read_pointer(settings.serving_dir)
    con = connect(settings)
    try:
        with pytest.raises(PublishError, match="zz_no_top_movie"):
            precompute_and_publish(con, SqlLibrary(sql_dir), settings)
        status = con.execute(
            "select status, failed_check from model_versions order by version desc limit 1"
        ).fetchall()[0]
        assert status[0] == "rejected" and "zz_no_top_movie" in status[1]
        assert con.execute("select count(*) from model_versions where status = 'active'").fetchall()[0][0] == 1
    finally:
        con.close()
    assert read_pointer(settings.serving_dir) == before
    assert not list(settings.serving_dir.glob(".staging-*"))


def test_publishing_a_new_version_supersedes_the_old(served):
    con = connect(served)
    try:
        published = precompute_and_publish(con, SqlLibrary(served.sql_dir), served)
        rows = dict(con.execute("select version, status from model_versions where status <> 'rejected'").fetchall())
    finally:
        con.close()
    assert read_pointer(served.serving_dir).version == published.version
    assert rows[published.version] == "active" and list(rows.values()).count("active") == 1
    assert (published.path / "recs.duckdb").exists() and (published.path / "models" / "als.npz").exists()
    assert format_of(published.path) == FORMAT_VERSION


def test_the_servers_in_memory_lists_equal_the_tables(served):
    from recommender.version.reader import Version

    sql = SqlLibrary(served.sql_dir)
    snap = Version.open_active(served.serving_dir, sql)
    try:
        rows = snap.con.execute(
            "select model, user_id, list((movie_id, score, reason_movie_id, ranked_by) order by rank) "
            "from recommendations group by all"
        ).fetchall()
        assert rows
        for model, user_id, items in rows:
            expected = [tuple(i.values()) if isinstance(i, dict) else tuple(i) for i in items]
            got = snap.precomputed(model, user_id)
            assert [(m, r, f) for m, _, r, f in got] == [(m, r, f) for m, _, r, f in expected], (model, user_id)
            assert all((s is None and np.isnan(g)) or np.isclose(g, s) for (_, g, *_), (_, s, *_) in zip(got, expected))
        known = {u for _, u, _ in rows}
        unknown = max(known) + 1
        assert all(snap.precomputed(model, unknown) == [] for model in snap.lists)
        assert snap.precomputed("als", 0) == [] and unknown not in snap.lists["als"] and min(known) in snap.lists["als"]
    finally:
        snap.close()


def test_old_versions_are_pruned_but_never_the_active_one(tmp_path):
    from tests.server.conftest import build_served_warehouse

    settings = build_served_warehouse(tmp_path, serving_keep=2)  # publishes version 1
    con = connect(settings)
    try:
        for _ in range(2):
            published = precompute_and_publish(con, SqlLibrary(settings.sql_dir), settings)
        statuses = dict(con.execute("select version, status from model_versions").fetchall())
    finally:
        con.close()
    assert sorted(p.name for p in settings.serving_dir.glob("v*")) == ["v0002", "v0003"]
    assert statuses == {1: "pruned", 2: "superseded", 3: "active"}
    assert read_pointer(settings.serving_dir).version == published.version == 3


def test_the_rated_movie_check_reads_every_range_of_users(served, tmp_path, monkeypatch):
    """The checks that join with every rating run one range of users at a time: a rated movie
    slipped into the last user's list is still found."""
    from types import SimpleNamespace

    from recommender.version import build

    folder = read_pointer(served.serving_dir).folder
    copy = tmp_path / "recs.duckdb"
    shutil.copy(folder / "recs.duckdb", copy)
    con = connect(served)
    recs = duckdb.connect(str(copy))
    try:
        sql = SqlLibrary(served.sql_dir)
        user_ids = np.array([u for (u,) in recs.execute("select distinct user_id from recommendations").fetchall()])
        last = int(user_ids.max())
        rated = con.execute("select movie_id from ratings where user_id = ? limit 1", [last]).fetchall()[0][0]
        production = SimpleNamespace(data=SimpleNamespace(user_ids=user_ids))
        monkeypatch.setattr(build, "CHECK_USERS", 7)  # many ranges
        assert build.run_checks(con, sql, recs, production, 20) is None
        recs.execute(
            "update recommendations set movie_id = ? where user_id = ? and model = 'als' and rank = 1", [rated, last]
        )
        assert build.run_checks(con, sql, recs, production, 20).startswith("no_rated_movie")
    finally:
        recs.close()
        con.close()


def test_the_ranked_by_check_finds_a_feature_name_on_another_models_row(served, tmp_path):
    from types import SimpleNamespace

    from recommender.version import build

    copy = tmp_path / "recs.duckdb"
    shutil.copy(read_pointer(served.serving_dir).folder / "recs.duckdb", copy)
    con = connect(served)
    recs = duckdb.connect(str(copy))
    try:
        sql = SqlLibrary(served.sql_dir)
        user_ids = np.array([u for (u,) in recs.execute("select distinct user_id from recommendations").fetchall()])
        production = SimpleNamespace(data=SimpleNamespace(user_ids=user_ids))
        assert build.run_checks(con, sql, recs, production, 20) is None
        recs.execute("update recommendations set ranked_by = 'als_score' where model = 'als' and rank = 1")
        assert build.run_checks(con, sql, recs, production, 20).startswith("ranked_by_on_ranker_rows")
    finally:
        recs.close()
        con.close()


def test_a_version_folder_without_this_codes_format_stamp_is_refused_in_one_line(served, tmp_path):
    """A folder an older release wrote (no stamp) or one of another format: the server refuses
    to open it and says to republish; nothing of it is read."""
    from recommender.version.reader import NotReady, Version

    folder = tmp_path / "v0001"
    shutil.copytree(read_pointer(served.serving_dir).folder, folder)
    assert Version.open(folder, SqlLibrary(served.sql_dir)).close() is None  # stamped: opens
    for stamp in (None, '{"format": 0}'):
        (folder / "FORMAT.json").unlink(missing_ok=True)
        if stamp is not None:
            (folder / "FORMAT.json").write_text(stamp)
        with pytest.raises(NotReady) as refused:
            Version.open(folder, SqlLibrary(served.sql_dir))
        message = str(refused.value)
        assert message.endswith("republish with `recsys precompute`") and "\n" not in message, message
