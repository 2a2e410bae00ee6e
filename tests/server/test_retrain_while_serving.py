"""Retraining and publishing while the server answers: zero failed requests, no mixed versions."""

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn

from server import ServerConfig, create_app

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(served):
    port = _free_port()
    config = ServerConfig.from_env(served, environ={"RECSYS_ADMIN_KEY": "k", "RECSYS_CACHE_TTL": "60"},
                                   reload_grace_s=5.0)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _recsys(served, *args):
    env = {**os.environ, "RECSYS_WAREHOUSE": str(served.warehouse), "RECSYS_SPLIT_STRATEGY": "per_user"}
    return subprocess.run([sys.executable, "-m", "recommender", *args], env=env, capture_output=True, text=True, timeout=300)


def test_retrain_publish_and_reload_without_downtime(live_server, served):
    stop = threading.Event()
    results: list[tuple[int, int | None, str, float]] = []  # status, version, mixed?, start time
    user_ids = httpx.get(live_server + "/users/sample?n=5").json()["user_ids"]

    def stream():
        with httpx.Client(base_url=live_server, timeout=10) as client:
            i = 0
            while not stop.is_set() and i < 5000:  # bounded in count and time
                uid = user_ids[i % len(user_ids)]
                started = time.monotonic()
                if i % 3 == 0:
                    res = client.get(f"/compare/{uid}?k=5")
                    body = res.json() if res.status_code == 200 else {}
                    versions = {body.get("model_version"), body.get("accuracy", {}).get("model_version"),
                                body.get("discovery", {}).get("model_version")}
                    results.append((res.status_code, body.get("model_version"), "mixed" if len(versions) > 1 else "ok", started))
                else:
                    res = client.get(f"/recommend/{uid}?k=5&model=als")
                    results.append((res.status_code, res.json().get("model_version") if res.status_code == 200 else None, "ok", started))
                i += 1

    workers = [threading.Thread(target=stream) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        trained = _recsys(served, "train", "--model", "als")
        assert trained.returncode == 0, trained.stderr
        published = _recsys(served, "precompute")
        assert published.returncode == 0, published.stderr
        res = httpx.post(live_server + "/admin/reload", headers={"X-API-Key": "k"})
        reloaded_at = time.monotonic()
        assert res.status_code == 200 and res.json()["changed"], res.text
        new_version = res.json()["active_version"]
        time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)

    assert len(results) > 50
    failures = [r for r in results if r[0] != 200]
    assert failures == [], f"{len(failures)} failed requests, e.g. {failures[:3]}"
    assert all(r[2] == "ok" for r in results), "a /compare response mixed two versions"
    versions = [r[1] for r in results]
    assert set(versions) <= {1, new_version}
    assert versions[-1] == new_version
    after = [r[1] for r in results if r[3] > reloaded_at]
    assert after and all(v == new_version for v in after), "a request started after the reload got the old version"
