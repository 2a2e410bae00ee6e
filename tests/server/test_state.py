"""Serving state pieces that need no HTTP: the feedback file's single-writer rule."""

import os
import subprocess
import sys

import pytest

from recommender.config import Settings
from recommender.feedback import DuckDBFeedbackStore, FeedbackStoreBusy
from recommender.sqlfiles import SqlLibrary
from server.state import ServedFeedback


def _hold(path):
    """Another process holding a DuckDB file read-write (as a running server holds its feedback)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_a_feedback_file_held_by_another_process_is_refused_clearly(tmp_path):
    path = tmp_path / "feedback.duckdb"
    holder = _hold(path)
    try:
        with pytest.raises(FeedbackStoreBusy, match="RECSYS_FEEDBACK_DB"):
            ServedFeedback(DuckDBFeedbackStore(path, SqlLibrary(Settings().sql_dir)))
    finally:
        holder.kill()
        holder.wait()
    # free again once the holder is gone
    store = ServedFeedback(DuckDBFeedbackStore(path, SqlLibrary(Settings().sql_dir)))
    store.add(1, 2, 4.0)
    assert store.of_user(1) == [(2, 4.0)]
    store.close()


def test_a_closed_version_is_freed_without_the_cyclic_gc(served):
    # the server freezes live objects (gc.freeze), so an old version must not need the GC
    import gc
    import weakref

    from recommender.version.reader import Version

    gc.disable()
    try:
        snap = Version.open_active(served.serving_dir, SqlLibrary(served.sql_dir))
        user = int(snap.lists["als"].users[0])
        assert snap.precomputed("als", user) and snap.table_counts()
        assert len(snap.live.user_list("diverse", 3, liked=[next(iter(snap.item_index))]).movie_ids) == 3
        refs = [weakref.ref(snap), weakref.ref(snap.live), weakref.ref(snap.lists["als"])]
        snap.close()
        del snap
        assert all(ref() is None for ref in refs)
    finally:
        gc.enable()


def test_ratings_posted_before_a_restart_are_still_used(tmp_path):
    sql = SqlLibrary(Settings().sql_dir)
    store = ServedFeedback(DuckDBFeedbackStore(tmp_path / "feedback.duckdb", sql))
    store.add(7, 1, 5.0)
    store.add(7, 1, 2.0)  # the latest rating per movie wins
    store.add(8, 3, 4.5)
    store.close()
    reopened = ServedFeedback(DuckDBFeedbackStore(tmp_path / "feedback.duckdb", sql))
    assert reopened.generation(7) == 2 and reopened.generation(8) == 1 and reopened.generation(9) == 0
    assert reopened.of_user(7) == [(1, 2.0)]
    reopened.close()


def test_a_second_server_on_the_same_feedback_file_fails_in_one_line(served, tmp_path):
    path = tmp_path / "feedback.duckdb"
    holder = _hold(path)
    try:
        env = {**os.environ, "RECSYS_WAREHOUSE": str(served.warehouse), "RECSYS_FEEDBACK_DB": str(path)}
        out = subprocess.run(
            [sys.executable, "-m", "recommender", "serve", "--port", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.wait()
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and "RECSYS_FEEDBACK_DB" in lines[0], out.stderr
    assert "serving on" not in out.stderr


def test_several_workers_without_the_shared_store_are_refused_in_one_line(served, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_FEEDBACK_URL"}
    env.update({"RECSYS_WAREHOUSE": str(served.warehouse), "RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")})
    out = subprocess.run(
        [sys.executable, "-m", "recommender", "serve", "--port", "1", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and "RECSYS_FEEDBACK_URL" in lines[0], out.stderr
    assert "serving on" not in out.stderr
