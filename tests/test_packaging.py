"""The installed project works outside the checkout (console script, both packages)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from recommender.config import REPO_ROOT
from tests.movielens_fixtures import random_movielens
from tests.server.live import free_port


def test_packages_import_from_anywhere(tmp_path):
    # pytest puts the repository on sys.path; a user's shell does not
    code = "import recommender, server, server.app; print(server.create_app.__module__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "server.app"


def test_console_script_help(tmp_path):
    script = Path(sys.executable).parent / "recsys"  # the entry point pip installed next to this Python
    assert script.exists(), f"no recsys script beside {sys.executable}: install with pip install -e ."
    out = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("serve", "precompute", "retrain", "rollback", "versions", "ingest-feedback"):
        assert name in out.stdout


@pytest.mark.slow
def test_the_built_wheel_migrates_ingests_and_serves_outside_the_checkout(tmp_path):
    """The wheel carries the SQL: installed apart from the checkout (its dependencies are the
    ones this environment already has), it runs the main job and serves."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            *map(str, wheels.glob("*.whl")),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (site / "recommender" / "sql" / "warehouse" / "migrations" / "001_raw_tables.sql").exists()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "RECSYS_WAREHOUSE": str(work / "wh" / "movielens.duckdb"),
        "RECSYS_SPLIT_STRATEGY": "per_user",
        "RECSYS_ACCESS_LOG": "off",
    }

    def recsys(*args, **kwargs):
        return subprocess.run(
            [sys.executable, "-m", "recommender", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            **kwargs,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import recommender.config as c; print(c.SQL_DIR)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where == str(site / "recommender" / "sql")
    migrated = recsys("migrate")
    assert migrated.returncode == 0 and "applied 001_raw_tables.sql" in migrated.stderr, migrated.stderr
    folder = random_movielens(work / "ml")
    done = recsys("run", str(folder), "--trials", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "recommender", "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # bounded wait
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/recommend/1?k=3", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert body["tier"] == "personalised" and len(body["items"]) == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
