"""A real uvicorn server on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn

from recommender.config import Settings
from server import ServerConfig, create_app
from server.runtime import uvicorn_options

ADMIN_KEY = "test-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(settings: Settings, environ: dict[str, str] | None = None, **overrides) -> Iterator[str]:
    """Serve ``settings``' published version; yields the base URL. Stops on exit."""
    port = free_port()
    env = {"RECSYS_ADMIN_KEY": ADMIN_KEY, "RECSYS_ACCESS_LOG": "off", **(environ or {})}
    config = ServerConfig.from_env(settings, environ=env, **overrides)
    options = uvicorn_options(config)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):  # bounded wait for start-up
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def recsys(
    settings: Settings, *args: str, timeout: float = 300, env: dict[str, str] | None = None, **popen
) -> subprocess.CompletedProcess:
    """``recsys ARGS`` in a subprocess against ``settings``' warehouse (per-user split);
    ``env``: more environment variables."""
    environ = {
        **os.environ,
        "RECSYS_WAREHOUSE": str(settings.warehouse),
        "RECSYS_SPLIT_STRATEGY": "per_user",
        "RECSYS_ADMIN_KEY": ADMIN_KEY,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args], env=environ, capture_output=True, text=True, timeout=timeout,
        **popen,
    )  # fmt: skip


def recsys_process(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "RECSYS_WAREHOUSE": str(settings.warehouse),
        "RECSYS_SPLIT_STRATEGY": "per_user",
        "RECSYS_ADMIN_KEY": ADMIN_KEY,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "recommender", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
