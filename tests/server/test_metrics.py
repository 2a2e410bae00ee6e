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


def test_a_worker_killed_without_a_clean_stop_leaves_no_live_gauge(tmp_path, monkeypatch):
    """A worker that died without marking itself dead (SIGKILL; uvicorn replaces it) must not keep
    a ``recsys_model_version`` series: the next scrape drops its live gauges, keeps its counters."""
    import subprocess
    import sys

    from server.metrics import MULTIPROCESS_ENV, Metrics

    folder = tmp_path / "prom"
    folder.mkdir()
    worker = (
        "import os\n"
        "from prometheus_client import Counter, Gauge\n"
        "Gauge('recsys_model_version', 'v', multiprocess_mode='liveall').set(3)\n"
        "Counter('recsys_answers', 'a', ['tier']).labels('popular').inc()\n"
        "print(os.getpid(), flush=True)\n"
        "os._exit(0)  # no clean stop: nothing marks it dead\n"
    )
    env = {**__import__("os").environ, MULTIPROCESS_ENV: str(folder)}
    pid = subprocess.run([sys.executable, "-c", worker], env=env, capture_output=True, text=True, check=True).stdout
    assert list(folder.glob(f"gauge_liveall_{pid.strip()}.db"))
    monkeypatch.setenv(MULTIPROCESS_ENV, str(folder))
    samples = [s for f in text_string_to_metric_families(Metrics().exposition().decode()) for s in f.samples]
    assert not [s for s in samples if s.name == "recsys_model_version"]
    assert not list(folder.glob("gauge_liveall_*.db"))
    assert [s.value for s in samples if s.name == "recsys_answers_total"] == [1.0]
