"""The version lifecycle without HTTP: what a killed job leaves behind is recovered, the
record follows the pointer, rollback refuses what cannot be served."""

import json
import shutil

import duckdb
import httpx
import pytest

from recommender.jobs.publish import precompute_and_publish
from recommender.sqlfiles import SqlLibrary
from recommender.version import registry
from recommender.version.format import FORMAT_VERSION
from recommender.warehouse import connect
from tests.server.conftest import build_served_warehouse
from tests.server.live import live_server

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(tmp_path):
    settings = build_served_warehouse(tmp_path, serving_keep=2)  # version 1 is active
    con = connect(settings)
    yield con, SqlLibrary(settings.sql_dir), settings
    con.close()


def _statuses(con):
    return dict(con.execute("select version, status from model_versions").fetchall())


def test_a_version_folder_renamed_but_never_recorded_is_removed_and_numbering_goes_on(warehouse):
    con, sql, settings = warehouse
    orphan = settings.serving_dir / "v0002"  # as left by a precompute killed after its rename
    shutil.copytree(settings.serving_dir / "v0001", orphan)
    (settings.serving_dir / ".staging-v0003").mkdir()
    messages = []
    published = precompute_and_publish(con, sql, settings, say=messages.append)
    assert any("v0002" in m and "never recorded" in m for m in messages)
    assert any(".staging-v0003" in m for m in messages)
    assert published.version == 2 and (settings.serving_dir / "v0002" / "recs.duckdb").exists()
    assert _statuses(con) == {1: "superseded", 2: "active"}


def test_a_record_switched_without_its_pointer_follows_the_pointer(warehouse):
    con, sql, settings = warehouse
    precompute_and_publish(con, sql, settings)  # version 2 active
    registry.write_pointer(settings.serving_dir, 1)  # as if killed before the pointer moved
    registry.recover(con, sql, settings)
    assert _statuses(con) == {1: "active", 2: "superseded"}
    events = con.execute("select event, version from version_events where event = 'reconciled'").fetchall()
    assert ("reconciled", 2) in events and ("reconciled", 1) in events


def test_rollback_refuses_what_cannot_be_served(warehouse):
    con, sql, settings = warehouse
    with pytest.raises(registry.VersionError, match="no earlier version"):
        registry.rollback(con, sql, settings)
    for _ in range(2):
        precompute_and_publish(con, sql, settings)  # 2, 3; keep=2 prunes 1
    con.execute("insert into model_versions (version, status, failed_check) values (9, 'rejected', 'x')")
    with pytest.raises(registry.VersionError, match="pruned"):
        registry.rollback(con, sql, settings, 1)
    with pytest.raises(registry.VersionError, match="rejected"):
        registry.rollback(con, sql, settings, 9)
    with pytest.raises(registry.VersionError, match="does not exist"):
        registry.rollback(con, sql, settings, 42)
    with pytest.raises(registry.VersionError, match="already active"):
        registry.rollback(con, sql, settings, 3)
    (settings.serving_dir / "v0002" / "FORMAT.json").unlink()  # as an older release left it
    with pytest.raises(registry.VersionError, match="no format stamp.*republish with `recsys precompute`"):
        registry.rollback(con, sql, settings, 2)
    assert registry.read_pointer(settings.serving_dir).version == 3
    (settings.serving_dir / "v0002" / "FORMAT.json").write_text(json.dumps({"format": FORMAT_VERSION}))
    assert registry.rollback(con, sql, settings) == (3, 2)
    assert registry.read_pointer(settings.serving_dir).version == 2
    assert _statuses(con) == {1: "pruned", 2: "active", 3: "rolled_back", 9: "rejected"}
    assert registry.rollback(con, sql, settings, 3) == (2, 3)  # and forward again


def _break(folder, how):
    if how == "missing table":
        recs = duckdb.connect(str(folder / "recs.duckdb"))
        recs.execute("drop table similar_movies")
        recs.execute("drop table recommendations")
        recs.close()
    else:
        artifact = folder / "models" / "als.npz"
        artifact.unlink()  # a hard link to the warehouse's artifact: never write through it
        artifact.write_bytes(b"not an artifact")


@pytest.mark.parametrize("how", ["missing table", "bad artifact"])
def test_a_broken_version_is_refused_by_reload_and_the_old_one_keeps_serving(warehouse, tmp_path, how):
    con, sql, settings = warehouse
    published = precompute_and_publish(con, sql, settings)  # version 2
    registry.write_pointer(settings.serving_dir, 1)
    _break(published.path, how)
    with live_server(settings, {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")}) as base:
        assert httpx.get(f"{base}/recommend/1?k=3").json()["model_version"] == 1
        registry.write_pointer(settings.serving_dir, 2)
        res = httpx.post(f"{base}/admin/reload", headers={"X-API-Key": "test-key"})
        assert res.status_code == 503 and "unusable" in res.json()["detail"], res.text
        assert httpx.get(f"{base}/recommend/1?k=3").json()["model_version"] == 1
    # a server started on the broken version is up and says why it is not ready
    with live_server(settings, {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")}) as base:
        health = httpx.get(f"{base}/health")
        assert health.status_code == 503 and "unusable" in health.json()["reason"]
        assert httpx.get(f"{base}/recommend/1?k=3").status_code == 503
    assert json.loads((settings.serving_dir / registry.ACTIVE_FILE).read_text())["version"] == 2


def test_rollback_refuses_a_version_that_would_show_movies_rated_in_data_ingested_since(warehouse):
    con, sql, settings = warehouse
    precompute_and_publish(con, sql, settings)  # version 2
    recs = duckdb.connect(str(settings.serving_dir / "v0001" / "recs.duckdb"), read_only=True)
    movie = recs.execute("select movie_id from recommendations where user_id = 1 and rank = 1").fetchall()[0][0]
    recs.close()
    con.execute("insert into raw_ratings values (1, ?, 2.0, 2000000000)", [movie])  # as a new CSV would bring
    with pytest.raises(registry.VersionError, match="--force"):
        registry.rollback(con, sql, settings, 1)
    assert registry.read_pointer(settings.serving_dir).version == 2
    assert registry.rollback(con, sql, settings, 1, force=True) == (2, 1)
