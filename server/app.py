"""The Litestar application: ``create_app(config)``; resources open in the lifespan."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import logging.handlers
import sys
import threading
import time
from typing import Annotated, AsyncIterator

from litestar import Controller, Litestar, MediaType, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from recommender import __version__
from server import schemas as S
from server import service
from server.config import ServerConfig
from server.snapshot import NotReady
from server.state import ServingState

access_log = logging.getLogger("recsys.access")


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of writing (it may be replaced)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property wins
        pass


class BatchedHandler(logging.handlers.MemoryHandler):
    """MemoryHandler that also flushes whatever it holds every ``max_age_s`` seconds (a
    daemon thread), so an idle server's last lines do not wait for the next request."""

    def __init__(self, capacity: int, target: logging.Handler, max_age_s: float = 1.0) -> None:
        super().__init__(capacity, flushLevel=logging.WARNING, target=target)
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_periodically, args=(max_age_s,),
                                         name="access-log-flush", daemon=True)
        self._flusher.start()

    def _flush_periodically(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        super().close()


def _attach_access_log() -> logging.Handler:
    """One JSON line per request on stderr, written in batches (a write per request costs
    more than the rest of a cached answer): flushed every 256 lines, every second, on any
    warning, and at shutdown. Level: the logger's (INFO by default).

    Attached in the lifespan, not at import or in create_app: Litestar and uvicorn both
    run logging.config.dictConfig before that, which closes every handler that exists."""
    stream = _CurrentStderr()
    stream.setFormatter(logging.Formatter("%(message)s"))
    handler = BatchedHandler(256, stream)
    access_log.addHandler(handler)
    access_log.propagate = False
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)
    return handler


log = logging.getLogger("recsys.server")

K = Annotated[int, QueryParameter(ge=1, le=100, description="list length (at most the precomputed length)")]
LOOKUP_ERRORS = [ValidationException, NotFoundException, ServiceUnavailableException]


def _serving(state: State) -> ServingState:
    return state.serving


def _snapshot(state: State):
    try:
        return _serving(state).current()
    except NotReady as exc:
        raise ServiceUnavailableException(f"not ready: {exc}") from exc


class RecommendationController(Controller):
    tags = ["recommendations"]

    # async: a cache hit is answered on the event loop with its already-encoded body; only
    # misses (DuckDB reads) go to a worker thread
    @get("/recommend/{user_id:str}", raises=LOOKUP_ERRORS,
         summary="Top-k movies for a user, with the tier that answered")
    async def recommend(self, state: State, user_id: FromPath[str], k: K = 10,
                        model: FromQuery[S.ModelName] = "als") -> Response[S.Recommendations]:
        serving, snap = _serving(state), _snapshot(state)
        uid = service.parse_id(user_id, "user_id")
        service.check_k(snap, k)
        answer = serving.cache.peek(service.recommend_key(serving, snap, uid, model, k))
        if answer is not None:
            serving.stats.tier(answer.value.tier)
        else:
            answer = await sync_to_thread(service.recommend, serving, snap, uid, model, k)
        return Response(answer.body, media_type=MediaType.JSON)

    @get("/compare/{user_id:str}", raises=LOOKUP_ERRORS,
         summary="Accuracy-focused (als) and discovery-focused (diverse) lists side by side")
    async def compare(self, state: State, user_id: FromPath[str], k: K = 10) -> Response[S.Comparison]:
        serving, snap = _serving(state), _snapshot(state)
        uid = service.parse_id(user_id, "user_id")
        service.check_k(snap, k)
        answer = serving.cache.peek(service.compare_key(serving, snap, uid, k))
        if answer is None:
            answer = await sync_to_thread(service.compare, serving, snap, uid, k)
        return Response(answer.body, media_type=MediaType.JSON)

    @post("/users/{user_id:str}/ratings", sync_to_thread=True, status_code=HTTP_201_CREATED, raises=LOOKUP_ERRORS,
          summary="Store a rating; the user's cached lists are invalidated")
    def rate(self, state: State, user_id: FromPath[str], data: JSONBody[S.RatingIn]) -> S.RatingStored:
        snap = _snapshot(state)
        uid = service.parse_id(user_id, "user_id")
        service.movie_or_404(snap, data.movie_id)
        _serving(state).feedback.add(uid, data.movie_id, data.rating)
        return S.RatingStored(uid, data.movie_id, data.rating, True)

    @get("/users/sample", sync_to_thread=True, raises=[ServiceUnavailableException],
         summary="A few known user ids (and an unknown one) for trying the API")
    def sample_users(self, state: State, n: Annotated[int, QueryParameter(ge=1, le=50)] = 5) -> S.UserSample:
        snap = _snapshot(state)
        users, unknown = snap.sample_users(n)
        return S.UserSample(snap.version, users, unknown)


class MovieController(Controller):
    tags = ["movies"]

    @get("/movies", sync_to_thread=True, raises=[ValidationException, ServiceUnavailableException],
         summary="Search titles (case-insensitive substring)")
    def search(self, state: State, q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
               limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20) -> list[S.Movie]:
        snap = _snapshot(state)
        return [S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity) for m in snap.search(q, limit)]

    @get("/movies/{movie_id:str}", sync_to_thread=True, raises=LOOKUP_ERRORS, summary="One movie")
    def movie(self, state: State, movie_id: FromPath[str]) -> S.Movie:
        m = service.movie_or_404(_snapshot(state), service.parse_id(movie_id, "movie_id"))
        return S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity)

    @get("/similar/{movie_id:str}", sync_to_thread=True, raises=LOOKUP_ERRORS,
         summary="Most similar movies (item-item cosine)")
    def similar(self, state: State, movie_id: FromPath[str], k: K = 10) -> S.Similar:
        snap = _snapshot(state)
        m = service.movie_or_404(snap, service.parse_id(movie_id, "movie_id"))
        rows = snap.similar(m.movie_id, k)
        return S.Similar(m.movie_id, m.title, snap.version,
                         [S.SimilarItem(r[0], r[1], r[2], list(r[3] or []), round(float(r[4]), 6)) for r in rows])


class OpsController(Controller):
    tags = ["operations"]

    @get("/health", sync_to_thread=True, summary="Liveness and readiness; 503 with the reason when not ready")
    def health(self, state: State) -> Response[S.Health]:
        serving = _serving(state)
        try:
            snap = serving.current()
            tables = snap.table_counts()
            body = S.Health("ok", True, True, None, snap.version, True, tables)
            return Response(body)
        except NotReady as exc:
            return Response(S.Health("not_ready", True, False, str(exc), None, False, {}),
                            status_code=HTTP_503_SERVICE_UNAVAILABLE)
        except Exception as exc:  # a broken version file is "not ready", never a 500
            return Response(S.Health("not_ready", True, False, f"serving files unreadable: {exc}", None, False, {}),
                            status_code=HTTP_503_SERVICE_UNAVAILABLE)

    @get("/health/live", summary="Liveness only: the process answers")
    async def live(self) -> dict[str, bool]:
        return {"live": True}

    @get("/stats", sync_to_thread=False, summary="Request counts, latency percentiles, cache and fallback counts")
    def stats(self, state: State) -> dict:
        serving = _serving(state)
        snap = serving.snapshot
        return {**serving.stats.snapshot(), "cache": serving.cache.stats(),
                "model_version": snap.version if snap else None, "package_version": __version__}

    @post("/admin/reload", sync_to_thread=True, status_code=200,
          raises=[NotAuthorizedException, PermissionDeniedException, ServiceUnavailableException],
          summary="Switch to the version serving/ACTIVE.json names (needs X-API-Key)")
    def reload(self, state: State, api_key: Annotated[str | None, HeaderParameter(name="X-API-Key")] = None) -> S.Reloaded:
        serving = _serving(state)
        expected = serving.config.admin_key
        if not expected:
            raise PermissionDeniedException("admin routes are disabled: set RECSYS_ADMIN_KEY to enable them")
        if api_key is None or not hmac.compare_digest(api_key.encode(), expected.encode()):
            raise NotAuthorizedException("missing or wrong X-API-Key")
        try:
            previous, active = serving.reload()
        except NotReady as exc:
            raise ServiceUnavailableException(f"reload failed, still serving the previous version: {exc}") from exc
        log.info("reloaded serving version %s -> %s", previous, active)
        return S.Reloaded(previous, active, previous != active)


def latency_middleware(app):
    """Times every request, feeds /stats and writes one structured log line."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": HTTP_500_INTERNAL_SERVER_ERROR}

        async def capture(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - started
            endpoint = f"{scope['method']} {scope.get('path_template') or 'unmatched'}"
            serving = getattr(scope["litestar_app"].state, "serving", None) if "litestar_app" in scope else None
            if serving is not None:
                serving.stats.record(endpoint, seconds, status["code"])
            if access_log.isEnabledFor(logging.INFO):  # no formatting cost when the level is off
                access_log.info(json.dumps({"endpoint": endpoint, "path": scope["path"], "status": status["code"],
                                            "ms": round(seconds * 1000, 3)}))

    return middleware


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return Response({"status_code": 500, "detail": "internal error"}, status_code=500, media_type=MediaType.JSON)


def create_app(config: ServerConfig) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.serving = ServingState(config)
        handler = _attach_access_log()
        try:
            yield
        finally:
            app.state.serving.close()
            access_log.removeHandler(handler)
            handler.close()  # flushes what is left

    return Litestar(
        route_handlers=[RecommendationController, MovieController, OpsController],
        lifespan=[lifespan],
        middleware=[latency_middleware],
        cors_config=CORSConfig(allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                               allow_headers=["Content-Type", "X-API-Key"]),
        openapi_config=OpenAPIConfig(title="recsys-duckdb", version=__version__, path="/schema"),
        exception_handlers={HTTP_500_INTERNAL_SERVER_ERROR: _internal_error},
        request_max_body_size=config.max_body_bytes,
    )
