"""How uvicorn runs the application, for `recsys serve` and the tests' live servers alike: whom
the rate limits count as the client, and what a slow or idle client may hold."""

from __future__ import annotations

from typing import Any

from server.config import ServerConfig

#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE_S = 5


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """uvicorn's settings from the server's: ``X-Forwarded-For`` is read only from the proxies
    ``trusted_proxies`` names (else the socket peer is the client: a header anyone can send must
    not make every request a new client of the rate limits); ``max_connections`` bounds what
    slow clients can hold (past it, new requests get a 503)."""
    trusted = list(config.trusted_proxies)
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "limit_concurrency": config.max_connections,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }
