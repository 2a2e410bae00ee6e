"""Every endpoint, its tiers, its errors and its cache behaviour."""

import pytest
from litestar.testing import TestClient

from recommender.config import Settings
from server import ServerConfig, create_app

pytestmark = pytest.mark.slow


def known_user(client) -> int:
    return client.get("/users/sample?n=1").json()["user_ids"][0]


def test_recommend_personalised_with_titles_and_reasons(client):
    uid = known_user(client)
    for model in ("als", "diverse", "itemknn", "popular"):
        body = client.get(f"/recommend/{uid}?k=5&model={model}").json()
        tier = "popular" if model == "popular" else "personalised"  # popular ranks alike for everybody
        assert body["tier"] == tier and body["model"] == model and body["model_version"] == 1
        assert len(body["items"]) == 5
        assert all(i["title"].startswith("Film ") and i["genres"] for i in body["items"])
    als = client.get(f"/recommend/{uid}?k=5").json()
    assert any(i["reason"] for i in als["items"])


def test_cold_start_then_fold_in_after_feedback(client):
    uid = 1_000_000
    cold = client.get(f"/recommend/{uid}?k=5").json()
    assert cold["tier"] == "popular" and len(cold["items"]) == 5
    top = cold["items"][0]["movie_id"]
    res = client.post(f"/users/{uid}/ratings", json={"movie_id": top, "rating": 5.0})
    assert res.status_code == 201
    stored = res.json()
    assert stored["seq"] >= 1 and stored["ratings_stored"] == 1
    assert client.post(f"/users/{uid}/ratings", json={"movie_id": top, "rating": 4.5}).json()["ratings_stored"] == 2
    warm = client.get(f"/recommend/{uid}?k=5").json()
    assert warm["tier"] == "fold-in"
    assert top not in [i["movie_id"] for i in warm["items"]], "a rated movie came back"
    assert all(i["reason"]["movie_id"] == top for i in warm["items"])
    diverse = client.get(f"/recommend/{uid}?k=5&model=diverse").json()
    assert diverse["tier"] == "fold-in" and len(diverse["items"]) == 5


def test_a_low_rating_only_excludes_the_movie(client):
    uid = 1_000_001
    first = client.get(f"/recommend/{uid}?k=3").json()["items"][0]["movie_id"]
    client.post(f"/users/{uid}/ratings", json={"movie_id": first, "rating": 1.0})
    body = client.get(f"/recommend/{uid}?k=3").json()
    assert body["tier"] == "popular" and first not in [i["movie_id"] for i in body["items"]]


def test_known_users_feedback_invalidates_their_cached_list(client):
    uid = known_user(client)
    before = client.get(f"/recommend/{uid}?k=5").json()["items"]
    client.post(f"/users/{uid}/ratings", json={"movie_id": before[0]["movie_id"], "rating": 4.0})
    after = client.get(f"/recommend/{uid}?k=5").json()["items"]
    assert before[0]["movie_id"] not in [i["movie_id"] for i in after]
    assert [i["movie_id"] for i in after[:4]] == [i["movie_id"] for i in before[1:5]]


def test_compare_lists_overlap_and_stats(client):
    uid = known_user(client)
    body = client.get(f"/compare/{uid}?k=6").json()
    a = [i["movie_id"] for i in body["accuracy"]["items"]]
    d = [i["movie_id"] for i in body["discovery"]["items"]]
    assert body["accuracy"]["model"] == "als" and body["discovery"]["model"] == "diverse"
    assert body["overlap"]["count"] == len(set(a) & set(d)) == len(body["overlap"]["movie_ids"])
    for stats in (body["accuracy_stats"], body["discovery_stats"]):
        assert 0 <= stats["intra_list_diversity"] <= 1 and stats["mean_popularity"] > 0
    assert body["accuracy"]["model_version"] == body["discovery"]["model_version"] == body["model_version"]


def test_movies_search_detail_and_similar(client):
    found = client.get("/movies?q=film 1&limit=3").json()
    assert 0 < len(found) <= 3 and all("Film 1" in m["title"] for m in found)
    assert client.get("/movies?q=%25").json() == []  # '%' is a literal, not a wildcard
    assert client.get("/movies/1").json()["movie_id"] == 1
    similar = client.get("/similar/1?k=3").json()
    assert similar["movie_id"] == 1 and 0 < len(similar["items"]) <= 3
    assert all(i["movie_id"] != 1 for i in similar["items"])


BAD_REQUESTS = [
    ("get", "/recommend/abc", 400, "user_id must be a positive integer"),
    ("get", "/recommend/1.5", 400, "user_id must be a positive integer"),
    ("get", "/recommend/0", 400, "between 1 and"),
    ("get", "/recommend/99999999999", 400, "between 1 and"),
    ("get", "/recommend/1?k=0", 400, "Validation failed"),
    ("get", "/recommend/1?k=-3", 400, "Validation failed"),
    ("get", "/recommend/1?k=101", 400, "Expected `int` <= 100"),
    ("get", "/recommend/1?offset=-1", 400, "Validation failed"),
    ("get", "/recommend/1?genre=Nope", 400, "Validation failed"),
    ("get", "/recommend/1?k=500", 400, "Validation failed"),
    ("get", "/recommend/1?k=ten", 400, "Validation failed"),
    ("get", "/recommend/1?model=svd", 400, "Invalid enum value"),
    ("get", "/compare/x", 400, "user_id must be a positive integer"),
    ("get", "/movies/999999", 404, "not in the catalog"),
    ("get", "/movies/abc", 400, "movie_id must be a positive integer"),
    ("get", "/similar/999999", 404, "not in the catalog"),
    ("get", "/movies", 400, "Missing required query parameter 'q'"),
    ("get", "/movies?q=", 400, "Validation failed"),
]


@pytest.mark.parametrize("method,url,status,detail", BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx(client, method, url, status, detail):
    res = getattr(client, method)(url)
    assert res.status_code == status
    assert detail in res.text and res.headers["content-type"].startswith("application/json")


BAD_BODIES = [
    (b'{"movie_id": 1, "rating": 7}', 400, "<= 5.0"),
    (b'{"movie_id": 1, "rating": 0}', 400, ">= 0.5"),
    (b'{"movie_id": 1, "rating": 3.3}', 400, "multiple of 0.5"),
    (b'{"movie_id": 1}', 400, "rating"),
    (b'{"movie_id": "one", "rating": 4}', 400, "movie_id must be a JSON integer"),
    (b'{"movie_id": 1, "rating": 4, "extra": true}', 400, "unknown field"),
    (b'{"movie_id": 1, "rating"', 400, "truncated"),
    (b"not json", 400, "malformed"),
    (b'{"movie_id": 99999, "rating": 4}', 404, "not in the catalog"),
]


@pytest.mark.parametrize("body,status,detail", BAD_BODIES)
def test_bad_rating_bodies(client, body, status, detail):
    res = client.post("/users/5/ratings", content=body, headers={"content-type": "application/json"})
    assert res.status_code == status and detail in res.text
    assert client.app.state.serving.feedback.of_user(5) == []  # nothing stored


def test_oversized_body_is_refused(client):
    res = client.post("/users/5/ratings", content=b" " * 100_000, headers={"content-type": "application/json"})
    assert res.status_code == 413


def test_health_stats_and_cache(client):
    health = client.get("/health").json()
    assert health["ready"] and health["tables"]["recommendations"] > 0
    uid = known_user(client)
    for _ in range(3):
        client.get(f"/recommend/{uid}?k=4")
    client.get("/recommend/1000002?k=4")
    stats = client.get("/stats").json()
    assert stats["cache"]["hits"] >= 2 and stats["cache"]["hit_rate"] > 0
    assert stats["endpoints"]["GET /recommend/{user_id}"]["requests"] >= 4
    assert stats["endpoints"]["GET /recommend/{user_id}"]["latency_ms"]["p99"] is not None
    assert stats["tiers"]["personalised"] >= 3 and stats["tiers"]["popular"] >= 1
    assert stats["model_version"] == 1 and stats["uptime_s"] >= 0


def test_admin_reload_key_handling(client, served):
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
    res = client.post("/admin/reload", headers={"X-API-Key": "test-key"})
    assert res.status_code == 200 and res.json() == {"previous_version": 1, "active_version": 1, "changed": False}
    app = create_app(ServerConfig.from_env(served, environ={}))
    with TestClient(app) as c:
        res = c.post("/admin/reload", headers={"X-API-Key": "anything"})
        assert res.status_code == 403 and "RECSYS_ADMIN_KEY" in res.text


def test_not_ready_is_503_with_the_reason(tmp_path):
    settings = Settings(warehouse=tmp_path / "none" / "movielens.duckdb")
    with TestClient(create_app(ServerConfig.from_env(settings, environ={}))) as c:
        res = c.get("/health")
        assert res.status_code == 503 and "recsys precompute" in res.json()["reason"]
        assert c.get("/health/live").json() == {"live": True}
        res = c.get("/recommend/1")
        assert res.status_code == 503 and "recsys precompute" in res.json()["detail"]


def test_cors_lists_origins_explicitly(client):
    ok = client.options(
        "/recommend/1", headers={"Origin": "http://localhost:8081", "Access-Control-Request-Method": "GET"}
    )
    assert ok.headers.get("access-control-allow-origin") == "http://localhost:8081"
    bad = client.options(
        "/recommend/1", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert bad.headers.get("access-control-allow-origin") is None
    with pytest.raises(Exception, match="explicitly"):
        ServerConfig.from_env(Settings(), environ={"RECSYS_CORS_ORIGINS": "*"})


def test_a_cached_answer_is_sent_again_unchanged(client):
    # cache hits reuse one prebuilt response: per-request headers (CORS) must not stick to it
    first = client.get("/recommend/1?k=3", headers={"Origin": "http://localhost:8081"})
    second = client.get("/recommend/1?k=3")
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert first.headers.get("access-control-allow-origin") == "http://localhost:8081"
    assert "access-control-allow-origin" not in second.headers
    assert second.headers["content-type"] == "application/json"
    assert int(second.headers["content-length"]) == len(second.content)
    assert client.get("/stats").json()["cache"]["hits"] >= 1


def test_openapi_documents_errors(client):
    schema = client.get("/schema/openapi.json").json()
    responses = schema["paths"]["/recommend/{user_id}"]["get"]["responses"]
    assert {"200", "400", "404", "503"} <= set(responses)


def _access_lines(capfd, expected: int, timeout_s: float = 3.0) -> str:
    import time

    seen, deadline = "", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen += capfd.readouterr().err
        if seen.count('"endpoint"') >= expected:
            break
        time.sleep(0.1)
    return seen


def test_each_request_gets_one_structured_log_line(capfd, client):
    import json

    capfd.readouterr()
    client.get("/recommend/1?k=2")
    client.get("/recommend/abc")
    seen = _access_lines(capfd, 2)
    lines = [json.loads(line) for line in seen.splitlines() if '"endpoint"' in line]
    assert [(entry["endpoint"], entry["status"]) for entry in lines] == [
        ("GET /recommend/{user_id}", 200),
        ("GET /recommend/{user_id}", 400),
    ]
    assert all(entry["ms"] > 0 for entry in lines)


def test_requests_no_route_matches_are_counted_and_logged_too(capfd, client):
    import json

    capfd.readouterr()
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/recommend/1").status_code == 405
    preflight = client.options(
        "/recommend/1", headers={"Origin": "http://localhost:8081", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    lines = [json.loads(line) for line in _access_lines(capfd, 3).splitlines() if '"endpoint"' in line]
    assert [(entry["endpoint"], entry["status"]) for entry in lines] == [
        ("GET unmatched", 404),
        ("DELETE unmatched", 405),
        ("OPTIONS unmatched", 204),
    ]
    endpoints = client.get("/stats").json()["endpoints"]
    assert endpoints["GET unmatched"] == {
        **endpoints["GET unmatched"],
        "requests": 1,
        "client_errors": 1,
        "server_errors": 0,
    }


def test_api_key_is_never_logged(capfd, client, caplog):
    capfd.readouterr()
    with caplog.at_level("INFO"):
        client.post("/admin/reload", headers={"X-API-Key": "test-key"})
        client.post("/admin/reload", headers={"X-API-Key": "guess-123"})
    logged = caplog.text + _access_lines(capfd, 2)
    assert '"POST /admin/reload"' in logged
    assert "test-key" not in logged and "guess-123" not in logged


def test_access_log_is_written_in_batches_but_not_held(tmp_path):
    import json
    import time

    from server.requestlog import RequestLog

    target = tmp_path / "logs" / "access.jsonl"
    requests = RequestLog(str(target), interval_s=0.2)
    requests.start()
    requests.record("GET", "/recommend/{user_id}", "/recommend/7", 200, 0.0012)
    requests.record("GET", None, "/nowhere", 404, 0.0003)
    assert not target.read_text()  # batched: nothing written on the request path
    deadline = time.monotonic() + 3
    while not target.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in target.read_text().splitlines()]  # within the interval, no further traffic
    assert [(entry["endpoint"], entry["path"], entry["status"], entry["ms"]) for entry in lines] == [
        ("GET /recommend/{user_id}", "/recommend/7", 200, 1.2),
        ("GET unmatched", "/nowhere", 404, 0.3),
    ]
    assert lines[0]["ts"].endswith("Z")
    requests.record("GET", "/health", "/health", 200, 0.001)
    requests.close()  # writes what is left
    assert target.read_text().count("\n") == 3
    stats = requests.snapshot()["endpoints"]
    assert stats["GET unmatched"]["client_errors"] == 1 and stats["GET unmatched"]["server_errors"] == 0
    assert stats["GET /recommend/{user_id}"]["requests"] == 1


def test_access_log_can_be_switched_off(capfd, served):
    settings = served.replace(artifacts_dir=None)
    with TestClient(create_app(ServerConfig.from_env(settings, environ={"RECSYS_ACCESS_LOG": "off"}))) as c:
        capfd.readouterr()
        c.get("/recommend/1")
        assert c.get("/stats").json()["endpoints"]["GET /recommend/{user_id}"]["requests"] == 1
    assert '"endpoint"' not in capfd.readouterr().err


def test_ids_are_canonical_decimal_integers(client):
    for raw in ("+42", "042", "%2042", "42%20", "\u0664\u0662", "4e1", "0", "-1", "2147483648"):
        res = client.get(f"/recommend/{raw}")
        assert res.status_code == 400, raw
        assert "user_id" in res.text, raw
    assert client.get("/recommend/42").status_code == 200
    assert client.get("/movies/+1").status_code == 400


def test_head_is_get_without_a_body_and_errors_are_counted_apart(client):
    uid = known_user(client)
    got = client.get(f"/recommend/{uid}?k=3")
    head = client.head(f"/recommend/{uid}?k=3")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert client.head("/health").status_code == 200


def test_the_schema_is_json_and_says_what_the_server_does(client):
    schema = client.get("/schema").json()
    assert client.get("/schema/openapi.json").json() == schema
    recommend = schema["paths"]["/recommend/{user_id}"]["get"]
    params = {p["name"]: p for p in recommend["parameters"]}
    assert params["k"]["schema"]["maximum"] == 100
    assert {"offset", "genre", "year_min", "year_max", "exclude"} <= set(params)
    assert params["genre"]["schema"]["oneOf"][0]["type"] == "array"
    assert "post" in schema["paths"]["/recommend"]
    assert params["user_id"]["schema"]["type"] == "integer" and params["user_id"]["schema"]["maximum"] == 2**31 - 1
    assert client.get(f"/recommend/{known_user(client)}?k=101").status_code == 400
    assert "503" in schema["paths"]["/health"]["get"]["responses"]


def test_post_bodies_must_be_declared_json(client):
    body = '{"movie_id": 1, "rating": 4.0}'
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"content-type": kind} if kind else {}
        res = client.post("/users/5/ratings", content=body, headers=headers)
        assert res.status_code == 415 and "application/json" in res.json()["detail"], kind
    ok = client.post("/users/5/ratings", content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 201


def test_a_deeply_nested_body_is_a_400(client):
    for depth in (500, 1000, 5000):
        res = client.post("/users/5/ratings", content="[" * depth, headers={"content-type": "application/json"})
        assert res.status_code == 400, (depth, res.text[:200])


def test_ratings_and_admin_routes_are_rate_limited_per_client(served, tmp_path):
    config = ServerConfig.from_env(served, environ={
        "RECSYS_ADMIN_KEY": "k", "RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off",
        "RECSYS_RATE_LIMIT_RATINGS": "3", "RECSYS_RATE_LIMIT_ADMIN": "2"})  # fmt: skip
    with TestClient(create_app(config)) as c:
        codes = [c.post("/users/7/ratings", json={"movie_id": 1, "rating": 4.0}).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        limited = c.post("/users/7/ratings", json={"movie_id": 1, "rating": 4.0})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert c.get("/recommend/7?k=3").status_code == 200  # reads are not limited
        admin = [c.post("/admin/reload", headers={"X-API-Key": "k"}).status_code for _ in range(2)]
        admin.append(c.get("/admin/feedback", headers={"X-API-Key": "k"}).status_code)
        assert admin == [200, 200, 429]


def test_a_rating_body_has_its_json_types_exactly(client):
    for body, words in [
        ('{"movie_id": 1.5, "rating": 4}', "movie_id must be a JSON integer"),
        ('{"movie_id": "1", "rating": 4}', "movie_id must be a JSON integer"),
        ('{"movie_id": true, "rating": 4}', "movie_id must be a JSON integer"),
        ('{"movie_id": 1, "rating": "4"}', "rating must be a JSON number"),
        ("", "the body is empty"),
        ("{", "not valid JSON"),
        ('{"movie_id": 1, "rating": 4, "extra": 1}', "unknown field `extra`"),
    ]:
        res = client.post("/users/5/ratings", content=body, headers={"content-type": "application/json"})
        assert res.status_code == 400 and words in res.text, (body, res.text)
    assert client.post("/users/5/ratings", json={"movie_id": 1, "rating": 4}).status_code == 201  # 4 is a number
    # as in JSON Schema, a number without a fraction is an integer
    assert client.post("/users/5/ratings", json={"movie_id": 1.0, "rating": 4}).json()["movie_id"] == 1


def test_a_zero_fraction_is_still_the_integer_id(client):
    """As in JSON Schema (the schema says integer), 2.0 is 2; 2.5, +2 and 02 are not ids."""
    assert client.get("/movies/1.0").json() == client.get("/movies/1").json()
    assert client.get("/recommend/1.00?k=3").json()["user_id"] == 1
    for bad in ("1.5", "+1", "01", "1."):
        assert client.get(f"/movies/{bad}").status_code == 400, bad


@pytest.mark.parametrize("model", ["popular", "itemknn", "als", "diverse", "hybrid", "ease"])
def test_pages_are_slices_of_one_list_even_among_tied_scores(client, model):
    """The tiny catalogue ties many scores (ItemKNN cosines, popularity counts): pages of 3 still
    concatenate to the one deep list, with and without a filter, across the precomputed 20."""
    for extra in ({}, {"genre": "Drama"}):
        whole = client.get("/recommend/3", params={"k": 30, "model": model, **extra}).json()["items"]
        pages = []
        for offset in range(0, 30, 3):
            pages += client.get("/recommend/3", params={"k": 3, "offset": offset, "model": model, **extra}).json()[
                "items"
            ]
        ids = [i["movie_id"] for i in pages]
        assert ids == [i["movie_id"] for i in whole] and len(ids) == len(set(ids)), (model, extra)
