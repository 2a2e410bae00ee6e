"""Operations routes: health, stats, Prometheus metrics, and the admin routes (reload, the
feedback feed)."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Literal

from litestar import Response, Router, get, post
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from recommender import __version__
from recommender.version.format import missing_files
from recommender.version.reader import NotReady
from server import schemas as S
from server.http import check_admin, rate_limit
from server.metrics import CONTENT_TYPE
from server.routes.shared import ADMIN_ERRORS, Services

log = logging.getLogger("recsys.server")


def ops_routes(services: Services) -> Router:
    admin_limit = rate_limit(services.config.rate_limit_admin, "admin")  # one budget for both admin routes

    @get("/", summary="Where to start: the demo app, the API documentation and schema, health")
    async def index() -> S.Index:
        return S.Index(
            "recsys",
            __version__,
            # addresses to open as they are (the schema lists the routes that take ids)
            {"app": "/app", "docs": "/docs", "schema": "/schema", "health": "/health", "sample_users": "/users/sample"},
        )

    @get(
        "/health",
        sync_to_thread=True,
        summary="Liveness and readiness; 503 with the reason when not ready",
        responses={
            503: ResponseSpec(
                generate_examples=False, data_container=S.Health, description="Not ready: the reason says why"
            )
        },
    )
    def health() -> Response[S.Health]:
        store: Literal["duckdb", "postgresql"] = "postgresql" if services.config.feedback_url else "duckdb"
        who = (os.getpid(), store)
        try:
            version = services.state().current()
            missing = missing_files(version.path)
            if missing:  # served from memory, but a restart or another worker could not open it
                raise NotReady(f"version {version.number}'s folder {version.path} lacks {', '.join(missing)}")
            tables = version.table_counts()
            return Response(S.Health("ok", True, True, None, version.number, True, tables, *who, version.default_model))
        except NotReady as exc:
            return Response(
                S.Health("not_ready", True, False, str(exc), None, False, {}, *who),
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
            )
        except Exception as exc:  # a broken version file is "not ready", never a 500
            return Response(
                S.Health("not_ready", True, False, f"serving files unreadable: {exc}", None, False, {}, *who),
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
            )

    @get("/health/live", summary="Liveness only: the process answers")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @get("/stats", sync_to_thread=False, summary="Request counts, latency percentiles, cache and fallback counts")
    def stats() -> dict:
        serving = services.state()
        version = serving.active
        return {
            **services.requests.snapshot(),
            "cache": serving.cache.stats(),
            "model_version": version.number if version else None,
            "package_version": __version__,
        }

    @get(
        "/metrics",
        sync_to_thread=True,  # a scrape folds the request log's backlog: never on the event loop
        media_type=CONTENT_TYPE,
        summary="Prometheus metrics: requests and latency by route and status class, cache, tiers, version, "
        "feedback store latency",
    )
    def metrics() -> Response[bytes]:
        services.requests.drain()  # the requests answered so far, not only those the log thread folded
        return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)

    @post(
        "/admin/reload",
        sync_to_thread=True,
        status_code=200,
        raises=ADMIN_ERRORS,
        middleware=admin_limit,
        summary="Switch to the version serving/ACTIVE.json names (needs X-API-Key)",
    )
    def reload(api_key: Annotated[str | None, HeaderParameter(name="X-API-Key")] = None) -> S.Reloaded:
        check_admin(services.config, api_key)
        try:
            previous, active = services.state().reload()
        except NotReady as exc:
            raise NotReady(f"reload failed, still serving the previous version: {exc}") from exc
        log.info("reloaded serving version %s -> %s", previous, active)
        return S.Reloaded(previous, active, previous != active)

    @get(
        "/admin/feedback",
        sync_to_thread=True,
        raises=[*ADMIN_ERRORS, ValidationException],
        middleware=admin_limit,
        summary="Ratings stored after a seq, oldest first (read by `recsys ingest-feedback --server`; needs X-API-Key)",
    )
    def feedback(
        api_key: Annotated[str | None, HeaderParameter(name="X-API-Key")] = None,
        after: Annotated[int, QueryParameter(ge=0, le=S.MAX_SEQ)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=100_000)] = 10_000,
    ) -> S.FeedbackPage:
        check_admin(services.config, api_key)
        store = services.state().feedback
        rows = store.since(after, limit)
        return S.FeedbackPage(
            store.store_id,
            after,
            rows[-1].seq if rows else after,
            [S.FeedbackRating(r.seq, r.user_id, r.movie_id, r.rating, r.ts) for r in rows],
        )

    return Router("/", route_handlers=[index, health, live, stats, metrics, reload, feedback], tags=["operations"])
