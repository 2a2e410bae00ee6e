"""Retraining and publishing while the server answers: zero failed requests, no mixed versions."""

import threading
import time

import httpx
import pytest

from tests.server.live import ADMIN_KEY, live_server, recsys

pytestmark = pytest.mark.slow


@pytest.fixture
def live(served):
    with live_server(served, {"RECSYS_CACHE_TTL": "60", "RECSYS_ACCESS_LOG": "-"}, reload_grace_s=5.0) as base:
        yield base


def test_retrain_publish_and_reload_without_downtime(live, served):
    stop = threading.Event()
    results: list[tuple[int, int | None, str, float]] = []  # status, version, mixed?, start time
    user_ids = httpx.get(live + "/users/sample?n=5").json()["user_ids"]

    def stream():
        with httpx.Client(base_url=live, timeout=10) as client:
            i = 0
            while not stop.is_set() and i < 5000:  # bounded in count and time
                uid = user_ids[i % len(user_ids)]
                started = time.monotonic()
                if i % 3 == 0:
                    res = client.get(f"/compare/{uid}?k=5")
                    body = res.json() if res.status_code == 200 else {}
                    versions = {
                        body.get("model_version"),
                        body.get("accuracy", {}).get("model_version"),
                        body.get("discovery", {}).get("model_version"),
                    }
                    results.append(
                        (res.status_code, body.get("model_version"), "mixed" if len(versions) > 1 else "ok", started)
                    )
                else:
                    res = client.get(f"/recommend/{uid}?k=5&model=als")
                    results.append(
                        (
                            res.status_code,
                            res.json().get("model_version") if res.status_code == 200 else None,
                            "ok",
                            started,
                        )
                    )
                i += 1

    workers = [threading.Thread(target=stream) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        trained = recsys(served, "train", "--model", "als")
        assert trained.returncode == 0, trained.stderr
        published = recsys(served, "precompute")
        assert published.returncode == 0, published.stderr
        res = httpx.post(live + "/admin/reload", headers={"X-API-Key": ADMIN_KEY})
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
