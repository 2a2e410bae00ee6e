"""The server killed with SIGKILL in the middle of a stream of POSTed ratings: every rating it
acknowledged (201) is in its feedback file afterwards, and a new server starts on it."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from recommender.feedback import DuckDBFeedbackStore
from recommender.sqlfiles import SqlLibrary
from tests.server.live import free_port

pytestmark = pytest.mark.slow


def _serve(settings, feedback, port):
    env = {**os.environ, "RECSYS_WAREHOUSE": str(settings.warehouse), "RECSYS_FEEDBACK_DB": str(feedback),
           "RECSYS_ACCESS_LOG": "off", "RECSYS_RATE_LIMIT_RATINGS": "0"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "recommender", "serve", "--port", str(port), "--log-level",
                             "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(300):  # bounded wait for start-up
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def test_no_acknowledged_rating_is_lost_when_the_server_is_killed(served, tmp_path):
    feedback, port = tmp_path / "feedback.duckdb", free_port()
    proc = _serve(served, feedback, port)
    acknowledged = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for i in range(400):  # bounded stream; the kill lands in the middle of it
                if i == 150:
                    proc.send_signal(signal.SIGKILL)
                try:
                    res = client.post(f"/users/{100_000 + i}/ratings", json={"movie_id": 1 + i % 40, "rating": 4.5})
                except httpx.HTTPError:
                    break
                if res.status_code == 201:
                    acknowledged.append((100_000 + i, res.json()["seq"]))
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert 100 <= len(acknowledged) <= 160
    store = DuckDBFeedbackStore(feedback, SqlLibrary(served.sql_dir), read_only=True)
    try:
        stored = {(r.user_id, r.seq) for r in store.since(0, 10_000)}
    finally:
        store.close()
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)[:5]
    again = _serve(served, feedback, port)  # the file opens again, its ratings in use
    try:
        user = acknowledged[-1][0]
        assert httpx.get(f"http://127.0.0.1:{port}/recommend/{user}?k=3").json()["tier"] == "fold-in"
    finally:
        again.terminate()
        again.wait(timeout=30)
