"""Served lists equal evaluated lists (tables and the server's in-memory index); a failing data
check blocks publication."""

import shutil

import duckdb
import numpy as np
import pytest

from recommender import pipeline
from recommender.evaluation.evaluate import evaluate, item_space
from recommender.models import load as load_model
from recommender.serving.precompute import PublishError, active_pointer, precompute_and_publish
from recommender.warehouse import connect
from recommender.warehouse.connection import SqlLibrary

pytestmark = pytest.mark.slow


def test_served_lists_equal_the_evaluated_lists(served):
    con = connect(served)
    sql = SqlLibrary(served.sql_dir)
    try:
        wb = pipeline.Workbench(con, sql, served)
        runs = dict(con.execute(
            "select model, artifact from latest_runs where kind = 'evaluate' and eval_split = 'test'").fetchall())
        folder = served.serving_dir / active_pointer(served)["path"]
        recs = duckdb.connect(str(folder / "recs.duckdb"), read_only=True)
        for model_name, artifact in runs.items():
            model = load_model(artifact)
            if model_name == "diverse" and model.params.similarity == "genres":
                model.item_genres = wb.item_genres
            items = item_space(wb.data.matrix("train", "val"), wb.item_genres)
            evaluation = evaluate(model, wb.data, "test", ("train", "val"), served.ks, items)
            evaluated = {int(u): [int(wb.data.item_ids[i]) for i in row if i >= 0]
                         for u, row in zip(evaluation.user_ids, evaluation.top.items)}
            rows = recs.execute("select user_id, list(movie_id order by rank) from recommendations where model = ? "
                                "group by user_id", [model_name]).fetchall()
            served_lists = dict(rows)
            assert evaluated, model_name
            for user_id, movies in evaluated.items():
                assert served_lists[user_id] == movies, f"{model_name}: user {user_id} is served another list"
        recs.close()
    finally:
        con.close()


def test_a_failing_check_keeps_the_old_version(served, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(served.sql_dir, sql_dir)
    (sql_dir / "checks" / "zz_no_movie_1.sql").write_text(
        "-- a check that returns rows when movie 1 is recommended to anyone\n"
        "select model, user_id from recommendations where movie_id = 1 or true limit 1;\n"
    )
    settings = served.replace(sql_dir=sql_dir)
    before = active_pointer(settings)
    con = connect(settings)
    try:
        with pytest.raises(PublishError, match="zz_no_movie_1"):
            precompute_and_publish(con, SqlLibrary(sql_dir), settings)
        status = con.execute("select status, failed_check from model_versions order by version desc limit 1").fetchall()[0]
        assert status[0] == "rejected" and "zz_no_movie_1" in status[1]
        assert con.execute("select count(*) from model_versions where status = 'active'").fetchall()[0][0] == 1
    finally:
        con.close()
    assert active_pointer(settings) == before
    assert not list(settings.serving_dir.glob(".staging-*"))


def test_publishing_a_new_version_supersedes_the_old(served):
    con = connect(served)
    try:
        published = precompute_and_publish(con, SqlLibrary(served.sql_dir), served)
        rows = dict(con.execute("select version, status from model_versions where status <> 'rejected'").fetchall())
    finally:
        con.close()
    assert active_pointer(served)["version"] == published.version
    assert rows[published.version] == "active" and list(rows.values()).count("active") == 1
    assert (published.path / "recs.duckdb").exists() and (published.path / "als.npz").exists()


def test_the_servers_in_memory_lists_equal_the_tables(served):
    from server.snapshot import Snapshot

    sql = SqlLibrary(served.sql_dir)
    snap = Snapshot.open_active(served.serving_dir, sql)
    try:
        rows = snap.con.execute("select model, user_id, list((movie_id, score, reason_movie_id) order by rank) "
                                "from recommendations group by all").fetchall()
        assert rows
        for model, user_id, items in rows:
            expected = [tuple(i.values()) if isinstance(i, dict) else tuple(i) for i in items]
            got = snap.precomputed(model, user_id)
            assert [(m, r) for m, _, r in got] == [(m, r) for m, _, r in expected], (model, user_id)
            assert all((s is None and np.isnan(g)) or np.isclose(g, s) for (_, g, _), (_, s, _) in zip(got, expected))
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
    assert active_pointer(settings)["version"] == published.version == 3
