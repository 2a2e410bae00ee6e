"""What a hostile client tried, each attack replayed: a 4,301-digit id, a rotating
X-Forwarded-For, control bytes in paths, a cache flood, Retry-After on every answer, a broken
pointer, a corrupt feedback file, a deleted version folder, slow and vanishing clients,
unknown movies in a body, repeated parameters and keys, and an echoed query."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import httpx
import msgspec
import numpy as np
import pytest
import scipy.sparse as sp
from litestar.testing import TestClient

from recommender.feedback import DuckDBFeedbackStore
from recommender.feedback.base import FeedbackError
from recommender.sqlfiles import SqlLibrary
from recommender.version.format import ACTIVE_FILE
from recommender.version.registry import read_pointer
from server import ServerConfig, create_app
from tests.server.conftest import build_served_warehouse
from tests.server.live import ADMIN_KEY, free_port, live_server, recsys

HUGE_ID = "1" * 4301


class Collected(logging.Handler):
    """The records of the server's logger, caught on the logger itself (Litestar reconfigures
    the root logger's handlers, pytest's capture among them)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Collected:
        server_log = logging.getLogger("recsys.server")
        self.level_before = server_log.level
        server_log.setLevel(logging.INFO)
        server_log.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        server_log = logging.getLogger("recsys.server")
        server_log.removeHandler(self)
        server_log.setLevel(self.level_before)

    @property
    def errors(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]


def known_user(client) -> int:
    return client.get("/users/sample?n=1").json()["user_ids"][0]


def test_a_path_id_of_any_length_is_a_400(client):
    """Python refuses to read more than 4,300 digits as an int: that was a 500 on every route
    that takes an id. Each says what is wrong instead, without echoing the number."""
    for method, path in [
        ("get", f"/recommend/{HUGE_ID}"),
        ("get", f"/compare/{HUGE_ID}"),
        ("get", f"/movies/{HUGE_ID}"),
        ("get", f"/similar/{HUGE_ID}"),
        ("post", f"/users/{HUGE_ID}/ratings"),
    ]:
        kwargs = {"json": {"movie_id": 1, "rating": 4.0}} if method == "post" else {}
        answer = getattr(client, method)(path, **kwargs)
        assert answer.status_code == 400, (path, answer.text[:200])
        assert "4,301 digits" in answer.json()["detail"] and len(answer.text) < 400


def test_control_bytes_in_a_path_are_a_404_not_a_500(client):
    with Collected() as log:
        for path in ("/app/%00", "/app/index.html%00.txt", "/recommend/1%00", "/movies/%0a1", "/%7f"):
            answer = client.get(path)
            assert answer.status_code == 404, (path, answer.text[:200])
        assert client.get(f"/recommend/{HUGE_ID}").status_code == 400
    assert not log.errors, log.errors


def test_retry_after_is_only_on_a_429(served, tmp_path):
    config = ServerConfig.from_env(served, environ={
        "RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off",
        "RECSYS_RATE_LIMIT_RATINGS": "2"})  # fmt: skip
    with TestClient(create_app(config)) as c:
        created = c.post("/users/7/ratings", json={"movie_id": 1, "rating": 4.0})
        wrong_type = c.post("/users/7/ratings", content=b"{}", headers={"content-type": "text/plain"})
        limited = c.post("/users/7/ratings", json={"movie_id": 1, "rating": 4.0})
    assert (created.status_code, wrong_type.status_code, limited.status_code) == (201, 415, 429)
    assert "retry-after" not in created.headers and "retry-after" not in wrong_type.headers
    assert int(limited.headers["retry-after"]) > 0


def test_unknown_movies_in_a_body_are_a_404(client):
    """A well-formed id the catalogue lacks is a 404 everywhere: in a rating, and in a session's picks."""
    rating = client.post("/users/5/ratings", json={"movie_id": 999_999, "rating": 4.0})
    session = client.post("/recommend", json={"liked": [999_999], "model": "als"})
    zero = client.post("/recommend", json={"liked": [0], "model": "als"})  # schema-valid: any integer
    assert (rating.status_code, session.status_code, zero.status_code) == (404, 404, 404), session.text


def test_repeated_parameters_and_keys_are_a_400(client):
    uid = known_user(client)
    for query in ("k=10&k=20", "model=als&model=ease", "offset=0&offset=20"):
        answer = client.get(f"/recommend/{uid}?{query}")
        assert answer.status_code == 400 and "takes one value" in answer.json()["detail"], query
    assert client.get(f"/recommend/{uid}?genre=Comedy&genre=Drama&exclude=1&exclude=2").status_code == 200
    body = b'{"movie_id": 1, "rating": 4.0, "rating": 1.0}'
    answer = client.post("/users/5/ratings", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400 and "'rating' more than once" in answer.json()["detail"]
    answer = client.post(
        "/recommend", content=b'{"liked": [1], "liked": [2]}', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400


def test_json_nested_just_under_the_readers_limit_is_a_400(client):
    """msgspec reads a little deeper than the standard library's reader, which checks for repeated
    keys: bodies nested between the two limits are bad input too, never a 500."""
    for depth in range(985, 1001):
        body = '{"movie_id": 1, "rating": 4, "x": ' + "[" * depth + "]" * depth + "}"
        answer = client.post("/users/5/ratings", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (depth, answer.text[:200])
    # where msgspec reads the body and the standard reader cannot, the check says so as bad input
    from recommender.errors import InvalidInput
    from server.http import repeated_key

    def reads(read, body: bytes) -> bool:
        try:
            read(body)
        except RecursionError:
            return False
        return True

    bodies = [('{"x": ' + "[" * d + "]" * d + "}").encode() for d in range(800, 1100)]
    between = [b for b in bodies if reads(msgspec.json.Decoder().decode, b) and not reads(json.loads, b)]
    assert between, "no depth where msgspec reads a body that json.loads cannot"
    for body in between:  # never a RecursionError (a 500): read, or refused as bad input
        try:
            repeated_key(body)
        except InvalidInput as exc:
            assert "nested too deeply" in str(exc)


def test_similar_pages_are_slices_of_one_list(client):
    """Pages of 10 across the table's 20 and past them give the same movies as one page of 40."""
    whole = [m["movie_id"] for m in client.get("/similar/1?k=40").json()["items"]]
    pages = [m["movie_id"] for o in range(0, 40, 10) for m in client.get(f"/similar/1?k=10&offset={o}").json()["items"]]
    assert pages == whole and len(set(whole)) == len(whole) > 20


def test_a_400_quotes_at_most_200_characters_of_the_input(client):
    uid = known_user(client)
    query = "&".join(["genre=Nope"] * 3000)
    answer = client.get(f"/recommend/{uid}?{query}")
    assert answer.status_code == 400
    assert len(answer.json()["detail"]) < 300 and len(answer.text) < 2000, answer.text[:300]
    answer = client.get("/movies/" + "x" * 5000)
    assert answer.status_code == 400 and len(answer.json()["detail"]) < 300


def test_the_cache_is_bounded_by_bytes(served, tmp_path):
    """Deep pages with 500 excluded ids each: every answer and deep list is a new entry. With a
    1 MB budget, what the caches hold stays within it and old entries make room."""
    config = ServerConfig.from_env(served, environ={
        "RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off",
        "RECSYS_CACHE_MAX_MB": "1"})  # fmt: skip
    rng = np.random.default_rng(0)
    with TestClient(create_app(config)) as c:
        uid = known_user(c)
        for offset in range(21, 100):
            exclude = "&".join(f"exclude={m}" for m in rng.integers(1, 10**6, 500))
            # a re-ranker's filtered list is a slice of a deep list: both caches fill
            assert c.get(f"/recommend/{uid}?k=5&offset={offset}&model=diverse&{exclude}").status_code == 200
        serving = c.app.state.serving
        for cache in (serving.cache, serving.deep_lists):
            stats = cache.stats()
            assert stats["bytes"] <= stats["max_bytes"] == 2**19, stats
            assert 0 < stats["size"] < 79 and stats["misses"] == 79, stats  # older entries made room
        assert c.get("/stats").json()["cache"]["max_bytes"] == 2**19
    # Litestar's own caches of parsed query strings keep none of these long ones
    from litestar import _parsers
    from litestar._kwargs import extractors

    caches = (_parsers.parse_query_string, extractors.create_query_default_dict)
    with TestClient(create_app(config)) as c:
        uid = known_user(c)
        for cache in caches:
            cache.cache_clear()  # other tests may have filled them
        for offset in range(21, 40):
            exclude = "&".join(f"exclude={m}" for m in rng.integers(1, 10**6, 500))
            assert c.get(f"/recommend/{uid}?k=5&offset={offset}&{exclude}").status_code == 200
    assert [cache.cache_info().currsize for cache in caches] == [0, 0]


def _reload_as(base: str, forwarded_for: str) -> int:
    headers = {"X-API-Key": "wrong", "X-Forwarded-For": forwarded_for}
    return httpx.post(f"{base}/admin/reload", headers=headers).status_code


def test_a_rotating_forwarded_for_does_not_escape_the_rate_limit(served, tmp_path):
    """The client is the socket peer unless RECSYS_TRUSTED_PROXIES names the proxy it came through."""
    env = {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_RATE_LIMIT_ADMIN": "5"}
    with live_server(served, env) as base:
        codes = [_reload_as(base, f"10.0.0.{i}") for i in range(10)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    env |= {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb2.duckdb"), "RECSYS_TRUSTED_PROXIES": "127.0.0.1"}
    with live_server(served, env) as base:
        codes = [_reload_as(base, f"10.0.0.{i}") for i in range(10)]
    assert codes == [401] * 10, codes  # behind a trusted proxy, each forwarded address is a client


def _raw_request(base: str, request: bytes) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(request)
    return conn


def test_a_slow_body_gets_a_408_and_a_vanished_client_one_log_line(served, tmp_path):
    env = {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_BODY_TIMEOUT_S": "0.5"}
    head = b"POST /users/5/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with Collected() as log, live_server(served, env) as base:
        slow = _raw_request(base, head + b'{"movie_id":')
        started = time.perf_counter()
        answer = slow.recv(4096)
        slow.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert time.perf_counter() - started < 5
        gone = _raw_request(base, head + b'{"movie_id":')
        time.sleep(0.2)  # the request reaches the app, which waits for the rest of its body
        gone.close()
        time.sleep(0.5)
        assert httpx.get(f"{base}/health/live").status_code == 200
    assert not log.errors, log.errors
    gone_lines = [r.getMessage() for r in log.records if "disconnected" in r.getMessage()]
    assert len(gone_lines) == 1 and not any(r.exc_info for r in log.records), gone_lines


@pytest.fixture(scope="module")
def own_served(tmp_path_factory):
    """A served warehouse of this module's own: these tests break its files on purpose."""
    return build_served_warehouse(tmp_path_factory.mktemp("broken"))


@pytest.mark.slow
def test_a_broken_pointer_is_one_line_in_the_cli_and_a_503_on_reload(own_served, tmp_path):
    pointer = own_served.serving_dir / ACTIVE_FILE
    good = pointer.read_text()
    env = {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")}
    try:
        with live_server(own_served, env) as base:
            for broken in ('{"version": 1e400, "path": "v0001"}', '{"version": 1, "path": "../../etc"}', "dir"):
                pointer.unlink() if pointer.is_file() else pointer.rmdir()
                if broken == "dir":
                    pointer.mkdir()
                else:
                    pointer.write_text(broken)
                out = recsys(own_served, "versions")
                lines = [line for line in out.stderr.splitlines() if line.strip()]
                assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
                assert "ACTIVE.json" in lines[0] and "rollback" in lines[0]
                reload = httpx.post(f"{base}/admin/reload", headers={"X-API-Key": ADMIN_KEY})
                assert reload.status_code == 503, reload.text
                assert httpx.get(f"{base}/recommend/1?k=3").status_code in (200, 404)  # still serving
            # the repair the message names: rolling back to the published version rewrites the pointer
            fixed = recsys(own_served, "rollback", "1")
            assert fixed.returncode == 0, fixed.stderr
            assert read_pointer(own_served.serving_dir).version == 1
    finally:
        if pointer.is_dir():
            pointer.rmdir()
        pointer.write_text(good)


@pytest.mark.slow
def test_a_deleted_version_folder_is_not_healthy(own_served, tmp_path):
    folder = read_pointer(own_served.serving_dir).folder
    aside = folder.with_name(folder.name + ".aside")
    env = {"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")}
    with live_server(own_served, env) as base:
        assert httpx.get(f"{base}/health").json()["serving_files_reachable"] is True
        folder.rename(aside)
        try:
            health = httpx.get(f"{base}/health")
            assert health.status_code == 503 and health.json()["serving_files_reachable"] is False
            assert "lacks" in health.json()["reason"]
            reload = httpx.post(f"{base}/admin/reload", headers={"X-API-Key": ADMIN_KEY})
            assert reload.status_code == 503 and "lacks" in reload.json()["detail"]
        finally:
            aside.rename(folder)
        assert httpx.get(f"{base}/health").status_code == 200


def _damaged(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:5000])
    elif how == "text":
        path.write_bytes(b"not a database " * 400)
    else:  # flipped bytes past the header: checksums fail
        blocks = bytearray(data)
        for offset in range(12_296, len(blocks), 97):
            blocks[offset] ^= 0xFF
        path.write_bytes(bytes(blocks))


@pytest.mark.parametrize("how", ["truncated", "text", "flipped"])
def test_a_corrupt_feedback_file_is_one_line_that_says_so(how, tmp_path, served):
    path = tmp_path / "feedback.duckdb"
    sql = SqlLibrary(served.sql_dir)
    store = DuckDBFeedbackStore(path, sql)
    for i in range(2000):
        store.add(1 + i % 50, 1 + i % 30, 4.0)
    store.close()
    _damaged(path, how)
    size = path.stat().st_size
    with pytest.raises(FeedbackError) as caught:
        DuckDBFeedbackStore(path, sql)
    message = str(caught.value)
    assert "is corrupt (" in message and str(path) in message and "mv " in message and "in use" not in message
    assert path.stat().st_size == size  # nothing deleted or rewritten
    with pytest.raises(FeedbackError, match="corrupt"):
        DuckDBFeedbackStore(path, sql, read_only=True)  # what ingest-feedback opens


@pytest.mark.slow
def test_serve_refuses_a_corrupt_feedback_file_in_one_line(served, tmp_path):
    path = tmp_path / "feedback.duckdb"
    store = DuckDBFeedbackStore(path, SqlLibrary(served.sql_dir))
    for i in range(2000):
        store.add(1 + i % 50, 1 + i % 30, 4.0)
    store.close()
    _damaged(path, "flipped")
    out = recsys(served, "serve", "--port", str(free_port()), timeout=120, env={"RECSYS_FEEDBACK_DB": str(path)})
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "is corrupt (" in lines[-1] and str(path) in lines[-1] and "in use" not in lines[-1]


def test_similar_pages_go_on_past_the_models_neighbours():
    """A model that keeps 3 neighbours: deeper pages follow the movie's co-occurrence links, in
    their order, never repeating the model's neighbours."""
    from recommender.lists.reasons import Links
    from recommender.models import ItemKNN
    from recommender.version.live import LiveModels

    rng = np.random.default_rng(1)
    positives = sp.csr_matrix((rng.random((200, 30)) < 0.3).astype(np.float32))
    times = positives.copy()
    times.data[:] = 1_600_000_000
    knn = ItemKNN({"neighbours": 3}).fit(positives)
    links = Links.fit(positives, np.zeros(30, dtype=np.uint64))
    item_ids = np.arange(1, 31)
    live = LiveModels(
        {"itemknn": knn}, times, positives, np.arange(1, 201), item_ids, {}, {}, links
    )  # fmt: skip
    found = live.similar(5, 20)
    ids = [m for m, _ in found]
    assert len(ids) == 20 and len(set(ids)) == 20 and 5 not in ids
    found_by_model, _ = knn.similar_items(np.array([4]), 20)
    head = item_ids[found_by_model[0][found_by_model[0] >= 0]].tolist()
    assert 0 < len(head) <= 3 and ids[: len(head)] == head  # the model keeps 3 (itself among them)
    row = links.strongest[4]
    strongest = [int(item_ids[i]) for i in row.indices if item_ids[i] not in head]
    assert ids[len(head) :] == strongest[: 20 - len(head)]
