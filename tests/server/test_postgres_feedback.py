"""The shared feedback store on a real PostgreSQL (a throwaway cluster): the store itself,
then replicas: two workers behind one port plus a second server, all on one database."""

from __future__ import annotations

import collections
import os
import queue
import signal
import threading
import time
import uuid

import duckdb
import httpx
import pytest

from recommender.config import Settings
from recommender.feedback.postgres import PostgresFeedbackStore
from recommender.sqlfiles import SqlLibrary
from tests.postgres_cluster import fresh_database, require_postgres, throwaway_cluster
from tests.server.conftest import build_served_warehouse
from tests.server.live import free_port, recsys, recsys_process

pytestmark = pytest.mark.postgres

SQL = SqlLibrary(Settings().sql_dir)


@pytest.fixture(scope="module")
def cluster():
    require_postgres()
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def feedback_url(cluster):
    return fresh_database(cluster, f"feedback_{uuid.uuid4().hex[:10]}")


def test_ratings_round_trip_and_the_schema_is_migrated_once(feedback_url):
    store = PostgresFeedbackStore(feedback_url, SQL)
    try:
        assert [store.add(1, 10, 4.0), store.add(1, 10, 2.0), store.add(2, 11, 5.0)] == [1, 2, 3]
        assert store.of_user(1) == [(10, 2.0)]  # the latest rating per movie
        assert store.counts() == {1: 2, 2: 1}
        assert [(r.seq, r.user_id, r.movie_id, r.rating) for r in store.since(1)] == [(2, 1, 10, 2.0), (3, 2, 11, 5.0)]
        assert all(abs(r.ts - time.time()) < 120 for r in store.since(0))
    finally:
        store.close()
    again = PostgresFeedbackStore(feedback_url, SQL)  # reopening applies nothing and keeps the identity
    try:
        assert again.store_id == store.store_id and again.counts() == {1: 2, 2: 1}
        import psycopg

        with psycopg.connect(feedback_url) as con:
            assert con.execute("select count(*) from feedback_migrations").fetchone()[0] == 1
    finally:
        again.close()


def test_servers_starting_together_migrate_once(feedback_url):
    stores, errors = [], []

    def open_one():
        try:
            stores.append(PostgresFeedbackStore(feedback_url, SQL, pool_size=1))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors and len({s.store_id for s in stores}) == 1
    finally:
        for s in stores:
            s.close()


def test_a_copy_running_beside_concurrent_writers_never_skips_a_seq(feedback_url):
    """seq is the copy's watermark: a seq committed after a higher one was read would be lost
    for ever. Four writers on two pools while a reader copies page by page."""
    writers = [PostgresFeedbackStore(feedback_url, SQL), PostgresFeedbackStore(feedback_url, SQL)]
    reader = PostgresFeedbackStore(feedback_url, SQL, pool_size=1)
    per_thread, copied, done = 60, [], threading.Event()

    def write(store, user):
        for movie in range(per_thread):
            store.add(user, movie, 4.0)

    threads = [threading.Thread(target=write, args=(writers[i % 2], i)) for i in range(4)]
    for t in threads:
        t.start()
    watermark = 0
    while not done.is_set():
        done.set() if not any(t.is_alive() for t in threads) else None
        page = reader.since(watermark, 7)
        copied += [r.seq for r in page]
        watermark = page[-1].seq if page else watermark
    while page := reader.since(watermark, 50):
        copied += [r.seq for r in page]
        watermark = page[-1].seq
    for store in [*writers, reader]:
        store.close()
    assert copied == list(range(1, 4 * per_thread + 1))


def test_a_store_hears_of_ratings_another_process_stored(feedback_url):
    writer, watcher = PostgresFeedbackStore(feedback_url, SQL), PostgresFeedbackStore(feedback_url, SQL)
    heard: queue.Queue = queue.Queue()
    try:
        watcher.watch(heard.put, lambda: heard.put("resync"))
        assert heard.get(timeout=10) == "resync"  # listening
        writer.add(42, 7, 4.5)
        assert heard.get(timeout=5) == 42
    finally:
        writer.close()
        watcher.close()


def test_a_listener_that_lost_its_connection_reconnects_and_catches_up(feedback_url):
    """Ratings stored while the listener was away are found by comparing counts with the last
    resync's; the process's own ratings never come back as news (it already counted them)."""
    import psycopg

    from server.state import ServedFeedback

    writer = PostgresFeedbackStore(feedback_url, SQL)
    served = ServedFeedback(PostgresFeedbackStore(feedback_url, SQL))
    try:
        deadline = time.monotonic() + 10
        while not _listening(feedback_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        served.add(5, 1, 4.0)  # its own rating: one move, no echo from the notification
        time.sleep(0.5)
        assert served.generation(5) == 1
        with psycopg.connect(feedback_url, autocommit=True) as con:  # cut the listener off
            con.execute("select pg_terminate_backend(pid) from pg_stat_activity where query ilike 'listen %'")
        writer.add(6, 2, 4.0)  # possibly while nobody listens
        deadline = time.monotonic() + 15
        while served.generation(6) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.generation(6) >= 1  # (user 5 may move again: a resync errs on the safe side)
    finally:
        writer.close()
        served.close()


def test_messages_never_show_the_databases_password():
    from recommender.feedback.postgres import safe_url

    assert "s3cret" not in safe_url("postgresql://recsys:s3cret@db:5432/recsys")
    assert "s3cret" not in safe_url("postgresql://:s3cret@db/recsys")
    assert "s3cret" not in safe_url("postgresql://db/recsys?password=s3cret")
    assert "s3cret" not in safe_url("host=db user=recsys password=s3cret dbname=recsys")
    assert "db" in safe_url("postgresql://recsys:s3cret@db:5432/recsys")


def _listening(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        return bool(con.execute("select count(*) from pg_stat_activity where query ilike 'listen %'").fetchone()[0])


# -- replicas: real server processes --------------------------------------------------------


def _start(settings: Settings, url: str, workers: int):
    port = free_port()
    env = {"RECSYS_FEEDBACK_URL": url, "RECSYS_ACCESS_LOG": "off", "RECSYS_RATE_LIMIT_RATINGS": "0"}
    process = recsys_process(settings, "serve", "--port", str(port), "--workers", str(workers), env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"server did not start: {process.stdout.read() if process.stdout else ''}")


def _stop(process) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except Exception:  # noqa: BLE001
        process.kill()


def _worker_pids(base: str, n: int) -> set[int]:
    """Ask /health on fresh connections until ``n`` different processes have answered."""
    pids: set[int] = set()
    for _ in range(400):
        pids.add(httpx.get(f"{base}/health", timeout=5).json()["pid"])
        if len(pids) == n:
            return pids
    raise AssertionError(f"only {pids} answered on {base}")


ANSWERED: collections.Counter = collections.Counter()  # GET /recommend requests per server


def _items(base: str, user: int) -> list[int]:
    ANSWERED[base] += 1
    res = httpx.get(f"{base}/recommend/{user}", params={"k": 5}, timeout=10)
    assert res.status_code == 200, res.text
    return [i["movie_id"] for i in res.json()["items"]]


@pytest.fixture(scope="module")
def served_pg(tmp_path_factory):
    return build_served_warehouse(tmp_path_factory.mktemp("served_pg"))


@pytest.mark.slow
def test_a_rating_posted_to_one_replica_changes_every_replicas_next_answer(served_pg, feedback_url):
    two, pids = None, set()
    one, one_base = _start(served_pg, feedback_url, workers=1)
    try:
        two, two_base = _start(served_pg, feedback_url, workers=2)
        pids = _worker_pids(two_base, 2)
        assert httpx.get(f"{two_base}/health").json()["feedback_store"] == "postgresql"
        for user, post_to, read_from in ((3, one_base, two_base), (4, two_base, one_base)):
            before = _items(read_from, user)
            for _ in range(20):  # every worker caches its answer
                assert _items(read_from, user) == before
            movie = before[0]
            res = httpx.post(f"{post_to}/users/{user}/ratings", json={"movie_id": movie, "rating": 5.0})
            assert res.status_code == 201, res.text
            # the notification reaches the other processes within milliseconds; then no worker
            # may answer from its stale cache entry
            deadline = time.monotonic() + 5
            while movie in _items(read_from, user) and time.monotonic() < deadline:
                time.sleep(0.02)
            answers = [_items(read_from, user) for _ in range(30)]
            assert all(movie not in a for a in answers), (user, answers)
        assert _worker_pids(two_base, 2) == pids  # both workers answered throughout
        # a new version: every worker follows ACTIVE.json (a reload request would reach one)
        version = httpx.get(f"{two_base}/health").json()["model_version"]
        done = recsys(served_pg, "precompute")
        assert done.returncode == 0, done.stderr
        deadline, moved = time.monotonic() + 20, {}
        while len(moved) < 2 and time.monotonic() < deadline:
            health = httpx.get(f"{two_base}/health").json()
            if health["model_version"] == version + 1:
                moved[health["pid"]] = True
        assert set(moved) == pids
        # /metrics adds up every worker's numbers, whichever worker answers the scrape
        time.sleep(1.0)  # requests are counted by each worker's request-log thread
        for _ in range(6):
            text = httpx.get(f"{two_base}/metrics").text
            counted = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("recsys_http_requests_total{") and 'route="/recommend/' in line
            )
            assert counted == ANSWERED[two_base], text
    finally:
        _stop(one)
        if two is not None:
            _stop(two)


@pytest.mark.slow
def test_no_acknowledged_rating_is_lost_when_a_worker_is_killed(served_pg, feedback_url, tmp_path):
    server, base = _start(served_pg, feedback_url, workers=2)
    acked, failed, stop = [], [], threading.Event()

    def post_ratings():
        movie = 0
        with httpx.Client(timeout=5) as client:  # one connection: it dies with its worker
            while not stop.is_set():
                movie = movie % 40 + 1
                try:
                    res = client.post(f"{base}/users/{9000 + movie}/ratings", json={"movie_id": movie, "rating": 4.0})
                except httpx.HTTPError:
                    failed.append(movie)
                    continue
                if res.status_code == 201:
                    body = res.json()
                    acked.append((body["seq"], body["user_id"], body["movie_id"]))

    try:
        victim = next(iter(_worker_pids(base, 2)))
        threads = [threading.Thread(target=post_ratings) for _ in range(3)]
        for t in threads:
            t.start()
        while len(acked) < 30:
            time.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        survivors = _worker_pids(base, 2)  # uvicorn replaced the killed worker
        assert victim not in survivors
        scraped = httpx.get(f"{base}/metrics").text  # the dead worker's live gauges are gone
        assert f'pid="{victim}"' not in scraped and "recsys_model_version{" in scraped
    finally:
        _stop(server)
    store = PostgresFeedbackStore(feedback_url, SQL, pool_size=1)
    try:
        stored = {(r.seq, r.user_id, r.movie_id) for r in store.since(0, 100_000)}
    finally:
        store.close()
    assert len(acked) > 30 and set(acked) <= stored
    # and `recsys ingest-feedback` copies them from the shared store into a warehouse
    warehouse = build_served_warehouse(tmp_path)
    done = recsys(warehouse, "ingest-feedback", "--feedback-url", feedback_url)
    assert done.returncode == 0, done.stdout + done.stderr
    con = duckdb.connect(str(warehouse.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from feedback_ratings").fetchone()[0] == len(stored)
    finally:
        con.close()
