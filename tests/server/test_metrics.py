"""GET /metrics: Prometheus text format, counts that agree with /stats and with what was asked."""

from prometheus_client.parser import text_string_to_metric_families


def _samples(client) -> dict:
    res = client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(res.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _key(name: str, **labels) -> tuple:
    return name, tuple(sorted(labels.items()))


def test_metrics_count_requests_by_route_and_status_class(client):
    for _ in range(3):
        assert client.get("/recommend/1?k=5").status_code == 200
    assert client.get("/recommend/abc").status_code == 400
    samples = _samples(client)
    route = {"method": "GET", "route": "/recommend/{user_id}"}
    assert samples[_key("recsys_http_requests_total", **route, status_class="2xx")] == 3
    assert samples[_key("recsys_http_requests_total", **route, status_class="4xx")] == 1
    assert samples[_key("recsys_http_request_duration_seconds_count", **route)] == 4
    assert samples[_key("recsys_http_request_duration_seconds_bucket", **route, le="+Inf")] == 4
    assert samples[_key("recsys_http_request_duration_seconds_bucket", **route, le="2.5")] == 4


def test_metrics_report_the_cache_tiers_version_and_feedback_store(client):
    client.get("/recommend/1?k=5")
    client.get("/recommend/1?k=5")  # a hit
    client.get("/recommend/987654321?k=5")  # unknown: the popular tier
    assert client.post("/users/1/ratings", json={"movie_id": 1, "rating": 4.0}).status_code == 201
    stats = client.get("/stats").json()
    samples = _samples(client)
    assert samples[("recsys_cache_lookups_total", (("result", "hit"),))] == stats["cache"]["hits"] >= 1
    assert samples[("recsys_cache_lookups_total", (("result", "miss"),))] == stats["cache"]["misses"]
    assert samples[("recsys_answers_total", (("tier", "popular"),))] >= 1
    assert samples[("recsys_model_version", ())] == stats["model_version"] >= 1
    assert samples[("recsys_feedback_store_seconds_count", (("operation", "add"),))] == 1


def test_each_app_has_its_own_registry(served, tmp_path):
    from litestar.testing import TestClient

    from server import ServerConfig, create_app

    config = ServerConfig.from_env(served, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "other.duckdb")})
    with TestClient(create_app(config)) as other:
        samples = _samples(other)
    assert not any(name == "recsys_http_requests_total" for name, _ in samples)
