"""A throwaway PostgreSQL cluster in a temporary folder, for the shared feedback store's tests.

PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to the ``postgres``
user of Debian's package and its commands run through ``runuser``. Without the binaries the
tests are skipped, unless ``CI_REQUIRE_POSTGRES`` is set (``.ci/run`` sets it after
installing them), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.live import free_port


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    return Path(folders[-1]) if folders else None


def require_postgres() -> Path:
    folder = postgres_bin()
    if folder is None or not (folder / "pg_ctl").exists():
        message = "PostgreSQL's server binaries are missing (Debian: apt-get install postgresql)"
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail(message + "; CI_REQUIRE_POSTGRES is set")
        pytest.skip(message)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI_REQUIRE_POSTGRES"):
            pytest.fail('psycopg is missing: pip install -e ".[dev,postgres]"')
        pytest.skip("psycopg is missing")
    return folder


@contextlib.contextmanager
def throwaway_cluster(durable: bool = False) -> Iterator[str]:
    """Start a cluster on a free loopback port (trust authentication); yields the URL of its
    ``postgres`` database. Stopped and deleted on exit. ``durable``: fsync on, as in
    production (benchmarks); the tests run without it (a killed worker, not a lost disk)."""
    binaries = require_postgres()
    root = Path(tempfile.mkdtemp(prefix="recsys-pg-"))
    data, port = root / "data", free_port()
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*as_owner, *args], check=True, capture_output=True, text=True, timeout=120)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1" + ("" if durable else " -c fsync=off")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start a PostgreSQL cluster: {exc.stderr or exc.stdout}") from exc
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(cluster_url: str, name: str) -> str:
    """A new, empty database in the cluster; returns its URL."""
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as con:
        con.execute(f'drop database if exists "{name}"')
        con.execute(f'create database "{name}"')
    return cluster_url.rsplit("/", 1)[0] + f"/{name}"
