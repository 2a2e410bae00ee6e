"""The closed loop: API ratings flow into the warehouse, retrain publishes what they taught,
rollback returns to an earlier version, and a retrain killed at any point leaves the active
version serving and the next retrain working."""

import signal

import duckdb
import httpx
import pytest

from recommender.cli import main
from recommender.feedback import DuckDBFeedbackStore
from recommender.names import MODEL_NAMES
from recommender.sqlfiles import SqlLibrary
from tests.server.conftest import build_served_warehouse
from tests.server.live import live_server, recsys, recsys_process

pytestmark = pytest.mark.slow

NEW_USER = 5_000  # the fixture's users are 1..80: this one exists only through the API


def _count(settings, query, params=None):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()[0][0]
    finally:
        con.close()


def _liked_movies(client_or_base, n=6):
    body = httpx.get(f"{client_or_base}/recommend/{NEW_USER}?k={n}").json()
    return [i["movie_id"] for i in body["items"]]


def test_a_feedback_file_is_copied_into_the_warehouse_once(tmp_path, monkeypatch):
    settings = build_served_warehouse(tmp_path)
    path = tmp_path / "feedback.duckdb"
    store = DuckDBFeedbackStore(path, SqlLibrary(settings.sql_dir))
    for movie in (1, 2, 3):
        store.add(NEW_USER, movie, 4.5)
    store.add(NEW_USER, 4, 1.0)
    store.close()
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("RECSYS_SPLIT_STRATEGY", "per_user")
    assert main(["ingest-feedback", "--feedback-db", str(path)]) == 0
    assert main(["ingest-feedback", "--feedback-db", str(path)]) == 0  # idempotent: nothing added
    assert _count(settings, "select count(*) from feedback_ratings") == 4
    assert _count(settings, "select count(*) from ratings where source = 'api'") == 4
    # used like CSV ratings: positives in interactions and the splits, the low one as a negative
    assert _count(settings, "select count(*) from interactions where user_id = ?", [NEW_USER]) == 3
    assert _count(settings, "select count(*) from split_positives where user_id = ?", [NEW_USER]) == 3
    assert _count(settings, "select count(*) from split_negatives where user_id = ?", [NEW_USER]) == 1
    # a later rating of the same movie wins
    store = DuckDBFeedbackStore(path, SqlLibrary(settings.sql_dir))
    store.add(NEW_USER, 1, 2.0)
    store.close()
    assert main(["ingest-feedback", "--feedback-db", str(path)]) == 0
    assert _count(settings, "select count(*) from interactions where user_id = ?", [NEW_USER]) == 2


def test_an_api_only_user_is_personalised_after_retrain_and_rollback_serves_the_previous_version(tmp_path):
    settings = build_served_warehouse(tmp_path)
    with live_server(settings, {"RECSYS_FEEDBACK_DB": str(tmp_path / "feedback.duckdb")}) as base:
        liked = _liked_movies(base)
        for movie in liked:
            assert (
                httpx.post(f"{base}/users/{NEW_USER}/ratings", json={"movie_id": movie, "rating": 5.0}).status_code
                == 201
            )
        known = httpx.get(f"{base}/users/sample?n=1").json()["user_ids"][0]
        disliked = httpx.get(f"{base}/recommend/{known}?k=1").json()["items"][0]["movie_id"]
        httpx.post(f"{base}/users/{known}/ratings", json={"movie_id": disliked, "rating": 0.5})
        before = httpx.get(f"{base}/recommend/{NEW_USER}?k=5").json()
        assert before["tier"] == "fold-in" and before["model_version"] == 1

        done = recsys(settings, "retrain", "--reload", base)
        assert done.returncode == 0, done.stderr
        assert "feedback ratings added: 7" in done.stdout and "version: 1 -> 2" in done.stdout
        # each model before and after on the test users both scored, with the change's CI
        assert "95 % CI of change" in done.stdout
        for model in MODEL_NAMES:
            row = next(line for line in done.stdout.splitlines() if line.startswith(f"│ {model} "))
            assert "no significant change" in row or "better" in row or "worse" in row, row
        assert _count(settings, "select count(*) from feedback_ratings") == 7

        for model in MODEL_NAMES:
            after = httpx.get(f"{base}/recommend/{NEW_USER}?k=5&model={model}").json()
            tier = "popular" if model == "popular" else "personalised"  # popular ranks alike for everybody
            assert after["model_version"] == 2 and after["tier"] == tier, model
        # the published lists themselves (the server would also filter its own feedback):
        # the API-only user has lists of their own, and no rated movie is in any list
        recs = duckdb.connect(
            str(settings.serving_dir / "v0002" / "recs.duckdb"),
            read_only=True,
            config={"enable_external_access": False, "threads": 1},
        )  # as the server opened it
        try:
            lists = dict(
                recs.execute(
                    "select model || ':' || user_id, list(movie_id) from recommendations "
                    "where user_id in (?, ?) group by all",
                    [NEW_USER, known],
                ).fetchall()
            )
        finally:
            recs.close()
        for model in MODEL_NAMES:
            assert len(lists[f"{model}:{NEW_USER}"]) == 20 and not set(liked) & set(lists[f"{model}:{NEW_USER}"])
            assert disliked not in lists[f"{model}:{known}"], model  # its low API rating is in the warehouse now

        back = recsys(settings, "rollback", "--reload", base)
        assert back.returncode == 0, back.stderr
        assert httpx.get(f"{base}/recommend/{NEW_USER}?k=5").json()["model_version"] == 1
        assert httpx.get(f"{base}/health").json()["model_version"] == 1
    statuses = dict(_rows(settings, "select version, status from model_versions"))
    assert statuses == {1: "active", 2: "rolled_back"}
    events = [e for (e,) in _rows(settings, "select event from version_events order by happened_at")]
    assert events == ["published", "published", "rollback"]


def _rows(settings, query):
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


KILL_POINTS = [
    ("after the line", "[2/5]"),  # splits being rebuilt
    ("after the line", "[4/5]"),  # production fit / precompute under way
    ("failpoint", "publish:renamed"),  # the folder is in place, not yet recorded
    ("failpoint", "publish:recorded"),  # recorded active, the pointer not yet moved
    ("after the line", "published version"),  # published, not yet pruned or reported
]


@pytest.mark.parametrize("how, where", KILL_POINTS, ids=[w for _, w in KILL_POINTS])
def test_a_retrain_killed_midway_keeps_the_active_version_and_the_next_one_succeeds(tmp_path, how, where):
    settings = build_served_warehouse(tmp_path)
    with live_server(settings, {"RECSYS_FEEDBACK_DB": str(tmp_path / "feedback.duckdb")}) as base:
        for movie in _liked_movies(base, 3):
            httpx.post(f"{base}/users/{NEW_USER}/ratings", json={"movie_id": movie, "rating": 5.0})
        env = {"RECSYS_FAILPOINT": where} if how == "failpoint" else {}
        proc = recsys_process(settings, "retrain", "--server", base, env=env)
        seen = []
        for line in proc.stdout:  # bounded: the process ends by itself or is killed here
            seen.append(line)
            if how == "after the line" and where in line:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=120)
        assert proc.returncode == -signal.SIGKILL, "".join(seen)
        # the server still answers from the version it had
        assert httpx.get(f"{base}/recommend/1?k=5").json()["model_version"] == 1
        assert httpx.get(f"{base}/health").status_code == 200

        again = recsys(settings, "retrain", "--reload", base)
        assert again.returncode == 0, again.stdout + again.stderr
        body = httpx.get(f"{base}/recommend/{NEW_USER}?k=5").json()
        assert body["tier"] == "personalised" and body["model_version"] >= 2
    statuses = [s for (s,) in _rows(settings, "select status from model_versions")]
    assert statuses.count("active") == 1
    assert _rows(settings, "select count(*) from job_log where status = 'running'")[0][0] == 0
    assert _rows(settings, "select count(*) from job_log where status = 'interrupted'")[0][0] == 1
    assert not list(settings.serving_dir.glob(".staging-*"))
