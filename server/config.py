"""Server settings: the shared Settings plus what only the API needs, read from the same
sources in the same order (defaults < the config file's ``[server]`` table < ``RECSYS_*`` <
overrides)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import field, fields
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from recommender.config import (
    SERVER_TABLE,
    ConfigError,
    Settings,
    config_file,
    explain,
    layer_sources,
    read_config_file,
)
from recommender.feedback.postgres import is_postgres_url

DEFAULT_CORS = ("http://localhost:8081", "http://localhost:19006", "http://127.0.0.1:8081")
#: Settings whose environment variable is not RECSYS_<NAME>.
ENV_NAMES = {"cache_ttl_s": "RECSYS_CACHE_TTL"}


@dataclass(frozen=True, config=ConfigDict(use_attribute_docstrings=True, extra="forbid"))
class ServerConfig:
    """What the API needs besides the shared settings. Each field's docstring is its line in
    the docs' server settings table (`recsys config --markdown`)."""

    settings: Settings
    admin_key: str | None = field(default=None, repr=False)
    """The admin API key; unset disables the admin routes."""
    cors_origins: tuple[str, ...] = DEFAULT_CORS
    """Browser origins allowed by CORS (comma-separated; never `*`)."""
    cache_size: int = 10_000
    """Entries of the TTL cache in front of the lists (0 disables it)."""
    cache_ttl_s: float = 300.0
    """Seconds an entry of that cache lives."""
    cache_max_mb: float = 32.0
    """The cache's memory budget in MB (answers and whole lists, keys included; estimated sizes)."""
    rate_limit_ratings: int = 600
    """Requests per minute per client to POST /users/{id}/ratings (0: no limit)."""
    rate_limit_admin: int = 120
    """Requests per minute per client to /admin/* (0: no limit)."""
    reload_grace_s: float = 30.0
    """Seconds an old version stays open after a reload, for the requests already using it."""
    version_check_s: float = 0.0
    """Every this many seconds, follow ACTIVE.json (0: only on POST /admin/reload; 2 with --workers)."""
    max_body_bytes: int = 64 * 1024
    """The largest request body, in bytes (a session's 1,000 picks fit)."""
    body_timeout_s: float = 10.0
    """Seconds each part of a request body may take to arrive (a slower client gets a 408)."""
    max_connections: int = 1000
    """Open connections per server process; past them a new request gets a 503 (uvicorn's limit)."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies whose X-Forwarded-For names the client (comma-separated; empty: the peer is)."""
    access_log: str = "-"
    """The access log: `-` standard error, `off`, or a file to append to."""
    feedback_db: Path | None = None
    """The server's own DuckDB file for posted ratings, one server process per file (unset: beside the versions)."""
    feedback_url: str | None = field(default=None, repr=False)
    """A PostgreSQL feedback store shared by every worker and server (`postgresql://...`)."""
    app_dir: Path | None = None
    """The demo app's web export, served at /app when it holds an index.html."""

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(o.strip() for o in value.split(",") if o.strip()) if isinstance(value, str) else value

    def __post_init__(self) -> None:
        if self.feedback_url and not is_postgres_url(self.feedback_url):
            raise ConfigError("RECSYS_FEEDBACK_URL must be a postgresql://... URL")  # never echoed: a password
        if "*" in self.cors_origins:
            raise ConfigError("RECSYS_CORS_ORIGINS must list origins explicitly, not '*'")

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.settings.artifacts_root / "feedback.duckdb"

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        return cls.resolve(settings, environ, **overrides)[0]

    @classmethod
    def resolve(
        cls, settings: Settings, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> tuple[ServerConfig, dict[str, str]]:
        """(the server settings, where each one that is not a default came from), read as
        ``Settings.resolve`` reads the shared ones; None overrides are not given."""
        env = os.environ if environ is None else environ
        path = config_file(environ)
        table = read_config_file(path).get(SERVER_TABLE, {})
        names = [f.name for f in fields(cls) if f.name != "settings"]
        values, origin = layer_sources(names, table, path, env, overrides, ENV_NAMES)
        try:
            return cls(settings=settings, **values), origin
        except ValidationError as exc:
            raise ConfigError(explain(exc)) from None


def server_env_name(name: str) -> str:
    """The environment variable of a server setting."""
    return ENV_NAMES.get(name, f"RECSYS_{name.upper()}")
