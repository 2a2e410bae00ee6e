"""The Litestar application: ``create_app(config)``; resources open in the lifespan."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Litestar, MediaType, Request, Response, Router, get, post
from litestar.concurrency import sync_to_thread
from litestar.config.cors import CORSConfig
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.params import Body, FromQuery, HeaderParameter, Parameter, QueryParameter
from litestar.response.base import ASGIResponse
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from recommender import __version__
from recommender.errors import InvalidInput, NotFound, RecsysError, Unavailable
from recommender.serving.live import Filter
from server import schemas as S
from server import service
from server.config import ServerConfig
from server.metrics import CONTENT_TYPE, Metrics
from server.requestlog import RequestLog
from server.snapshot import NotReady, Snapshot
from server.state import ServingState
from server.webapp import app_routes

log = logging.getLogger("recsys.server")
#: How `recsys serve --workers N` tells its workers the log level it was given.
WORKER_LOG_LEVEL_ENV = "RECSYS_SERVE_LOG_LEVEL"

K = Annotated[int, QueryParameter(ge=1, le=S.MAX_K, description="page length")]
Offset = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=S.MAX_DEPTH - 1,
        description=f"items to skip: pages of one list never repeat an item; lists end at depth {S.MAX_DEPTH}",
    ),
]
Genres = Annotated[
    list[S.Genre] | None,
    QueryParameter(
        max_items=20,
        description="keep movies of any of these genres (repeat the parameter); scored at request time",
    ),
]
Year = Annotated[int | None, QueryParameter(ge=1800, le=2200, description="release year bound (inclusive)")]
Excluded = Annotated[
    list[int] | None,
    QueryParameter(max_items=500, description="movie ids never to return (repeat the parameter)"),
]
# documented as the integer it is, read from the path text by service.parse_id, whose 400
# says in words what is wrong (and which refuses '+42', '042', other scripts' digits)
PathId = Annotated[
    str,
    Parameter(
        schema_extra={"type": "integer", "minimum": 1, "maximum": S.MAX_ID},
        description=f"a positive integer written in decimal digits (no sign, no leading zero), at most {S.MAX_ID}",
    ),
]
#: The rating body refuses unknown fields; the schema says so (Litestar would not).
RatingBody = Annotated[S.RatingIn, Body(schema_extra={"additionalProperties": False})]
SessionBody = Annotated[S.SessionIn, Body(schema_extra={"additionalProperties": False})]
#: What an admin route can answer besides 200: no key configured, wrong key, not ready, too many.
ADMIN_ERRORS = [
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
]
LOOKUP_ERRORS = [ValidationException, NotFoundException, ServiceUnavailableException]


def _ok(schema: type) -> dict[int, ResponseSpec]:
    """OpenAPI for handlers that return a cached, already-encoded ASGIResponse."""
    return {200: ResponseSpec(data_container=schema, description="Request fulfilled, document follows")}


class Services:
    """What the handlers share, handed to the route factories (one attribute read per
    request instead of Litestar's State injection): the config, the request log, and the
    serving state that the lifespan opens."""

    def __init__(self, config: ServerConfig, requests: RequestLog, metrics: Metrics) -> None:
        self.config = config
        self.requests = requests
        self.metrics = metrics
        self.serving: ServingState | None = None

    def state(self) -> ServingState:
        if self.serving is None:
            raise NotReady("the server is starting")
        return self.serving

    def snapshot(self) -> Snapshot:
        return self.state().current()


async def _answer(
    serving: ServingState, user_id: int, compute: Callable[..., service.Answer], *args: Any, slow: bool = False
) -> service.Answer:
    """Cache hits, in-memory lists and lists scored from the in-memory models (about 1 ms) are
    answered on the event loop: a worker-thread hop costs more than it saves under load (README,
    serving benchmark). A user with posted feedback (read from the feedback store) and a ranker
    list scored now (``slow``: ``service.ranker_scored_now``) go to a worker thread."""
    generation = serving.feedback.generation(user_id)  # read once: another process may move it
    if slow or service.reads_feedback(generation):
        return await sync_to_thread(compute, *args, generation=generation)
    return compute(*args, generation=generation)


def recommendation_routes(services: Services) -> Router:
    @get(
        "/recommend/{user_id:str}",
        raises=LOOKUP_ERRORS,
        responses=_ok(S.Recommendations),
        summary="Top-k movies for a user, with the tier that answered",
    )
    async def recommend(
        user_id: PathId,
        k: K = 10,
        model: FromQuery[S.ModelName | None] = None,
        offset: Offset = 0,
        genre: Genres = None,
        year_min: Year = None,
        year_max: Year = None,
        exclude: Excluded = None,
    ) -> ASGIResponse:
        serving, snap = services.state(), services.snapshot()
        uid = service.parse_id(user_id, "user_id")
        model = model or snap.default_model  # none named: the version's winner on val
        query = Filter(tuple(sorted(set(genre or ()))), year_min, year_max, tuple(sorted(set(exclude or ()))))
        args = (serving, snap, uid, model, k, offset, query)
        slow = service.ranker_scored_now(snap, uid, model, k, offset, query)
        return (await _answer(serving, uid, service.recommend, *args, slow=slow)).response

    @post(
        "/recommend",
        sync_to_thread=True,
        status_code=200,
        raises=[ValidationException, NotFoundException, ServiceUnavailableException],
        before_request=_strict_json_body(S.SessionIn),
        responses={
            413: ResponseSpec(data_container=dict, description="The body is larger than the server accepts"),
            415: ResponseSpec(data_container=dict, description="The body is not declared as JSON"),
        },
        summary="A list for an anonymous visitor's picks (liked / disliked movie ids); nothing is stored",
    )
    def session(data: SessionBody) -> S.SessionRecommendations:
        return service.session(services.snapshot(), data)

    @get(
        "/compare/{user_id:str}",
        raises=LOOKUP_ERRORS,
        responses=_ok(S.Comparison),
        summary="Accuracy-focused (als) and discovery-focused (diverse) lists side by side",
    )
    async def compare(user_id: PathId, k: K = 10, offset: Offset = 0, genre: Genres = None) -> ASGIResponse:
        serving, snap = services.state(), services.snapshot()
        uid = service.parse_id(user_id, "user_id")
        query = Filter(tuple(sorted(set(genre or ()))))
        args = (serving, snap, uid, k, offset, query)
        return (await _answer(serving, uid, service.compare, *args)).response

    @post(
        "/users/{user_id:str}/ratings",
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        raises=[*LOOKUP_ERRORS, TooManyRequestsException],
        before_request=_strict_json_body(S.RatingIn),
        middleware=_rate_limit(services.config.rate_limit_ratings, "ratings"),
        responses={415: ResponseSpec(data_container=dict, description="The body is not declared as JSON")},
        summary="Store a rating; the user's next lists leave the movie out (and may fold it in)",
    )
    def rate(user_id: PathId, data: RatingBody) -> S.RatingStored:
        snap = services.snapshot()
        uid = service.parse_id(user_id, "user_id")
        service.movie_or_404(snap, data.movie_id)
        feedback = services.state().feedback
        seq = feedback.add(uid, data.movie_id, data.rating)
        return S.RatingStored(uid, data.movie_id, data.rating, seq, feedback.generation(uid))

    @get(
        "/users/sample",
        sync_to_thread=True,
        raises=[ServiceUnavailableException],
        summary="A few known user ids (and an unknown one) for trying the API",
    )
    def sample_users(n: Annotated[int, QueryParameter(ge=1, le=50)] = 5) -> S.UserSample:
        snap = services.snapshot()
        users, unknown = snap.sample_users(n)
        return S.UserSample(snap.version, users, unknown)

    return Router("/", route_handlers=[recommend, session, compare, rate, sample_users], tags=["recommendations"])


def movie_routes(services: Services) -> Router:
    @get(
        "/movies",
        sync_to_thread=True,
        raises=[ValidationException, ServiceUnavailableException],
        summary="Search titles (case-insensitive substring)",
    )
    def search(
        q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> list[S.Movie]:
        snap = services.snapshot()
        return [S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity) for m in snap.search(q, limit)]

    @get("/movies/{movie_id:str}", sync_to_thread=True, raises=LOOKUP_ERRORS, summary="One movie")
    def movie(movie_id: PathId) -> S.Movie:
        m = service.movie_or_404(services.snapshot(), service.parse_id(movie_id, "movie_id"))
        return S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity)

    @get(
        "/similar/{movie_id:str}",
        sync_to_thread=True,
        raises=LOOKUP_ERRORS,
        summary="Most similar movies (item-item cosine)",
    )
    def similar(movie_id: PathId, k: K = 10, offset: Offset = 0) -> S.Similar:
        snap = services.snapshot()
        m = service.movie_or_404(snap, service.parse_id(movie_id, "movie_id"))
        rows = service.similar(snap, m.movie_id, k, offset)
        return S.Similar(
            m.movie_id,
            m.title,
            snap.version,
            [S.SimilarItem(r[0], r[1], r[2], list(r[3] or []), round(float(r[4]), 6)) for r in rows],
        )

    return Router("/", route_handlers=[search, movie, similar], tags=["movies"])


def ops_routes(services: Services) -> Router:
    admin_limit = _rate_limit(services.config.rate_limit_admin, "admin")  # one budget for both admin routes

    @get(
        "/health",
        sync_to_thread=True,
        summary="Liveness and readiness; 503 with the reason when not ready",
        responses={503: ResponseSpec(data_container=S.Health, description="Not ready: the reason says why")},
    )
    def health() -> Response[S.Health]:
        who = (os.getpid(), "postgresql" if services.config.feedback_url else "duckdb")
        try:
            snap = services.state().current()
            tables = snap.table_counts()
            return Response(S.Health("ok", True, True, None, snap.version, True, tables, *who, snap.default_model))
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
        snap = serving.snapshot
        return {
            **services.requests.snapshot(),
            "cache": serving.cache.stats(),
            "model_version": snap.version if snap else None,
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
        _check_admin(services.config, api_key)
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
        _check_admin(services.config, api_key)
        store = services.state().feedback
        rows = store.since(after, limit)
        return S.FeedbackPage(
            store.store_id,
            after,
            rows[-1].seq if rows else after,
            [S.FeedbackRating(r.seq, r.user_id, r.movie_id, r.rating, r.ts) for r in rows],
        )

    return Router("/", route_handlers=[health, live, stats, metrics, reload, feedback], tags=["operations"])


def _rate_limit(per_minute: int, bucket: str) -> list:
    """Per client address; a request over the limit gets 429 with Retry-After. One store per
    bucket, so the admin routes share their budget and the ratings route has its own."""
    if per_minute <= 0:
        return []
    config = RateLimitConfig(
        rate_limit=("minute", per_minute), store=f"rate_limit_{bucket}", middleware_class=RetryAfterRateLimit
    )
    return [config.middleware]


class RetryAfterRateLimit(RateLimitMiddleware):
    """Litestar's rate limit, whose 429 also says when to come back (``Retry-After``, seconds)."""

    def create_response_headers(self, cache_object) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        reset = headers.get(self.config.rate_limit_reset_header_key)
        if reset is not None:
            headers["Retry-After"] = str(max(1, int(reset)))
        return headers


def _strict_json_body(schema: type) -> Callable[[Request], Awaitable[None]]:
    """A before-request hook for a JSON body of type ``schema``:

    - it must say it is JSON (415 otherwise): a form or text/plain body is what a foreign web
      page can send without a CORS preflight;
    - its fields must have their JSON types (400 otherwise): Litestar's own conversion is
      lenient and would read the string ``"4"`` as the number 4. As in JSON Schema, a number
      with no fraction (``1.0``) is an integer.

    The body stays cached on the request, and Litestar reads the same bytes afterwards."""
    decoder = msgspec.json.Decoder()  # the JSON as it is; the typed reading is Litestar's, next
    kinds = {f.encode_name: f.type for f in msgspec.structs.fields(schema)}

    async def check(request: Request) -> None:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HTTPException(
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                detail=f"the body must be JSON sent as Content-Type: application/json, got {kind or 'none'!r}",
            )
        body = await request.body()
        if not body.strip():
            raise InvalidInput('the body is empty; expected a JSON object such as {"movie_id": 1, "rating": 4.5}')
        try:
            value = decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidInput("the JSON body is nested too deeply") from None
        if isinstance(value, dict):
            for name, kind in kinds.items():
                if name in value and not _json_type_fits(value[name], kind):
                    raise InvalidInput(f"{name} must be a JSON {_json_type_name(kind)}, got {value[name]!r}")

    return check


def _json_type_fits(value: Any, kind: Any) -> bool:
    """Whether a decoded JSON value has the JSON type a struct field declares (bounds aside:
    the typed reading checks those). Annotated[...] fields are read as their base type."""
    base = getattr(kind, "__origin__", kind)
    if isinstance(value, bool):
        return base is bool
    if base is int:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if base is float:
        return isinstance(value, int | float)
    return True


def _json_type_name(kind: Any) -> str:
    base = getattr(kind, "__origin__", kind)
    return {int: "integer", float: "number", bool: "boolean", str: "string"}.get(base, "value")


def _check_admin(config: ServerConfig, api_key: str | None) -> None:
    """Admin routes: refused when no key is configured; the key compared in constant time."""
    expected = config.admin_key
    if not expected:
        raise PermissionDeniedException("admin routes are disabled: set RECSYS_ADMIN_KEY to enable them")
    if api_key is None or not hmac.compare_digest(api_key.encode(), expected.encode()):
        raise NotAuthorizedException("missing or wrong X-API-Key")


class TimedLitestar(Litestar):
    """Litestar that times every HTTP request at its outermost layer and hands it to the
    request log (/stats and the access log). Route middleware would miss the requests no
    route matches (404, 405) and CORS preflights; this sees every one."""

    def __init__(self, *args: Any, request_log: RequestLog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_log = request_log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = HTTP_500_INTERNAL_SERVER_ERROR
        head = scope["method"] == "HEAD"
        if head:  # HEAD is GET without the body (RFC 9110): the same headers, length included
            scope = {**scope, "method": "GET"}

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await super().__call__(scope, receive, capture)
        finally:
            self.request_log.record(
                "HEAD" if head else scope["method"],
                scope.get("path_template"),
                scope["path"],
                status,
                time.perf_counter() - started,
            )


#: The domain errors the services raise, as HTTP statuses (one handler, one place).
DOMAIN_STATUS = (
    (InvalidInput, HTTP_400_BAD_REQUEST),
    (NotFound, HTTP_404_NOT_FOUND),
    (Unavailable, HTTP_503_SERVICE_UNAVAILABLE),
)


def _domain_error(request: Request, exc: RecsysError) -> Response:
    status = next((code for kind, code in DOMAIN_STATUS if isinstance(exc, kind)), HTTP_409_CONFLICT)
    return Response({"status_code": status, "detail": str(exc)}, status_code=status, media_type=MediaType.JSON)


def _too_deep(request: Request, exc: RecursionError) -> Response:
    """msgspec refuses JSON nested past its depth limit with a RecursionError: bad input, a 400.
    Any other RecursionError is ours: a 500."""
    if "deserializing" not in str(exc):
        return _internal_error(request, exc)
    return Response(
        {"status_code": HTTP_400_BAD_REQUEST, "detail": "the JSON body is nested too deeply"},
        status_code=HTTP_400_BAD_REQUEST,
        media_type=MediaType.JSON,
    )


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return Response({"status_code": 500, "detail": "internal error"}, status_code=500, media_type=MediaType.JSON)


def app_from_environment() -> Litestar:
    """The app of a worker process started by `recsys serve --workers N` (uvicorn's factory):
    every setting from ``RECSYS_*``, which the command exported from its own."""
    from recommender.config import Settings

    # the command configured logging in its own process only: the same here, for this worker
    level = os.environ.get(WORKER_LOG_LEVEL_ENV, "info").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    return create_app(ServerConfig.from_env(Settings.from_sources()))


def create_app(config: ServerConfig) -> Litestar:
    metrics = Metrics()
    requests = RequestLog(config.access_log, observer=metrics.observe_request, after_drain=metrics.sync)
    services = Services(config, requests, metrics)

    def serving_state() -> dict[str, Any]:
        serving = services.serving
        if serving is None:
            return {}
        version = serving.snapshot.version if serving.snapshot else None
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
        ],
        request_log=requests,
        lifespan=[lifespan],
        cors_config=CORSConfig(
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        ),
        # the schema as JSON at /schema and /schema/openapi.json (no documentation page that
        # loads its scripts from a CDN: this server may run offline)
        openapi_config=OpenAPIConfig(
            title="recsys-duckdb",
            version=__version__,
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
        exception_handlers={
            RecsysError: _domain_error,
            RecursionError: _too_deep,
            HTTP_500_INTERNAL_SERVER_ERROR: _internal_error,
        },
        request_max_body_size=config.max_body_bytes,
    )
