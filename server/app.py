"""The Litestar application: ``create_app(config)`` assembles the routes, the HTTP plumbing and
the lifespan that opens the serving state."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from recommender import __version__
from server.apidocs import docs_routes, swagger_page
from server.config import ServerConfig
from server.http import EXCEPTION_HANDLERS, TimedLitestar, bound_query_parsing
from server.metrics import Metrics
from server.requestlog import RequestLog
from server.routes import Services, movie_routes, ops_routes, recommendation_routes
from server.state import ServingState
from server.webapp import app_routes

#: How `recsys serve --workers N` tells its workers the log level it was given.
WORKER_LOG_LEVEL_ENV = "RECSYS_SERVE_LOG_LEVEL"
#: Where the OpenAPI schema (and the documentation page, under it) is served.
SCHEMA_PATH = "/schema"


def app_from_environment() -> Litestar:
    """The app of a worker process started by `recsys serve --workers N` (uvicorn's factory):
    every setting from ``RECSYS_*``, which the command exported from its own."""
    from recommender.config import Settings

    # the command configured logging in its own process only: the same here, for this worker
    level = os.environ.get(WORKER_LOG_LEVEL_ENV, "info").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    return create_app(ServerConfig.from_env(Settings.from_sources()))


def create_app(config: ServerConfig) -> Litestar:
    bound_query_parsing()
    metrics = Metrics()
    requests = RequestLog(config.access_log, observer=metrics.observe_request, after_drain=metrics.sync)
    services = Services(config, requests, metrics)

    def serving_state() -> dict[str, Any]:
        serving = services.serving
        if serving is None:
            return {}
        version = serving.active.number if serving.active else None
        return {"cache": serving.cache.stats(), "tiers": requests.tiers(), "model_version": version}

    metrics.watch(serving_state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        requests.start()
        store_timer = lambda operation, seconds: metrics.store.labels(operation).observe(seconds)  # noqa: E731
        services.serving = app.state.serving = ServingState(config, requests, store_timer)
        try:
            yield
        finally:
            services.serving.close()
            services.serving = None
            requests.close()  # writes what is left
            metrics.close()

    return TimedLitestar(
        route_handlers=[
            recommendation_routes(services),
            movie_routes(services),
            ops_routes(services),
            app_routes(config.app_dir),  # the demo app at /app, same origin as the API
            docs_routes(SCHEMA_PATH),  # the API documentation at /docs, with its files
        ],
        request_log=requests,
        body_timeout_s=config.body_timeout_s,
        lifespan=[lifespan],
        cors_config=CORSConfig(
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        ),
        # the schema as JSON at /schema and /schema/openapi.json; the documentation page
        # loads its scripts from this server, never from a CDN: this server may run offline
        openapi_config=OpenAPIConfig(
            title="recsys-duckdb",
            version=__version__,
            path=SCHEMA_PATH,
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"]), swagger_page()],
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=config.max_body_bytes,
    )
