"""Server settings: the shared Settings plus what only the API needs (env ``RECSYS_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recommender.config import ConfigError, Settings
from recommender.feedback.postgres import is_postgres_url

DEFAULT_CORS = ("http://localhost:8081", "http://localhost:19006", "http://127.0.0.1:8081")


@dataclass(frozen=True)
class ServerConfig:
    settings: Settings
    #: Admin API key (``RECSYS_ADMIN_KEY``); None disables the admin routes.
    admin_key: str | None = field(default=None, repr=False)
    #: Browser origins allowed by CORS (``RECSYS_CORS_ORIGINS``, comma-separated).
    cors_origins: tuple[str, ...] = DEFAULT_CORS
    #: TTL cache in front of the table lookups (entries, seconds); size 0 disables it.
    cache_size: int = 10_000
    cache_ttl_s: float = 300.0
    #: Requests per minute per client address to POST /users/{id}/ratings and to /admin/*
    #: (``RECSYS_RATE_LIMIT_RATINGS``, ``RECSYS_RATE_LIMIT_ADMIN``); 0 disables the limit.
    rate_limit_ratings: int = 600
    rate_limit_admin: int = 120
    #: Seconds an old version stays open after a reload (for requests already using it).
    reload_grace_s: float = 30.0
    #: Every this many seconds, switch to the version ACTIVE.json names if it changed
    #: (``RECSYS_VERSION_CHECK_S``; 0: only on POST /admin/reload). `recsys serve --workers N`
    #: sets 2: /admin/reload reaches one worker of the N behind the port.
    version_check_s: float = 0.0
    #: Largest request body in bytes.
    max_body_bytes: int = 64 * 1024  # a session's 1,000 picks fit
    #: Access log (``RECSYS_ACCESS_LOG``): "-" standard error, "off", or a file to append to.
    access_log: str = "-"
    #: The server's own DuckDB file for posted ratings (``RECSYS_FEEDBACK_DB``); one server
    #: process per file. Default: ``<artifacts>/feedback.duckdb``.
    feedback_db: Path | None = None
    #: A PostgreSQL feedback store shared by every worker and server (``RECSYS_FEEDBACK_URL``,
    #: ``postgresql://user@host:port/db``); when set, ``feedback_db`` is not used.
    feedback_url: str | None = field(default=None, repr=False)
    #: The demo app's web export, served at /app when it holds an index.html
    #: (``RECSYS_APP_DIR``; ``recsys serve`` passes ./demo-app/dist when it exists). None: not served.
    app_dir: Path | None = None

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.settings.artifacts_root / "feedback.duckdb"

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None, **overrides) -> ServerConfig:
        env = os.environ if environ is None else environ
        values: dict = {"settings": settings}
        try:
            if env.get("RECSYS_ADMIN_KEY"):
                values["admin_key"] = env["RECSYS_ADMIN_KEY"]
            if env.get("RECSYS_CORS_ORIGINS"):
                values["cors_origins"] = tuple(o.strip() for o in env["RECSYS_CORS_ORIGINS"].split(",") if o.strip())
            if env.get("RECSYS_CACHE_SIZE"):
                values["cache_size"] = int(env["RECSYS_CACHE_SIZE"])
            if env.get("RECSYS_FEEDBACK_DB"):
                values["feedback_db"] = Path(env["RECSYS_FEEDBACK_DB"])
            if env.get("RECSYS_FEEDBACK_URL"):
                values["feedback_url"] = env["RECSYS_FEEDBACK_URL"]
            if env.get("RECSYS_APP_DIR"):
                values["app_dir"] = Path(env["RECSYS_APP_DIR"])
            if env.get("RECSYS_ACCESS_LOG"):
                values["access_log"] = env["RECSYS_ACCESS_LOG"]
            if env.get("RECSYS_CACHE_TTL"):
                values["cache_ttl_s"] = float(env["RECSYS_CACHE_TTL"])
            if env.get("RECSYS_RATE_LIMIT_RATINGS"):
                values["rate_limit_ratings"] = int(env["RECSYS_RATE_LIMIT_RATINGS"])
            if env.get("RECSYS_VERSION_CHECK_S"):
                values["version_check_s"] = float(env["RECSYS_VERSION_CHECK_S"])
            if env.get("RECSYS_RATE_LIMIT_ADMIN"):
                values["rate_limit_admin"] = int(env["RECSYS_RATE_LIMIT_ADMIN"])
        except ValueError as exc:
            raise ConfigError(f"server setting: {exc}") from exc
        url = values.get("feedback_url")
        if url and not is_postgres_url(url):
            raise ConfigError("RECSYS_FEEDBACK_URL must be a postgresql://... URL")  # never echoed: a password
        if "*" in values.get("cors_origins", ()):
            raise ConfigError("RECSYS_CORS_ORIGINS must list origins explicitly, not '*'")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
