"""HTTP plumbing shared by every route: rate limits, the strict JSON body check, the admin
key, the outermost timing layer (and HEAD), and the error handlers."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import typing
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_408_REQUEST_TIMEOUT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import Receive

from recommender.errors import QUOTED_INPUT, InvalidInput, NotFound, RecsysError, Unavailable, quoted
from recommender.names import SERVED_MODELS
from server import schemas as S
from server.config import ServerConfig
from server.requestlog import RequestLog

log = logging.getLogger("recsys.server")


def rate_limit(per_minute: int, bucket: str) -> list:
    """Per client address; a request over the limit gets 429 with Retry-After. One store per
    bucket, so the admin routes share their budget and the ratings route has its own."""
    if per_minute <= 0:
        return []
    config = RateLimitConfig(
        rate_limit=("minute", per_minute), store=f"rate_limit_{bucket}", middleware_class=RetryAfterRateLimit
    )
    return [config.middleware]


class RetryAfterRateLimit(RateLimitMiddleware):
    """Litestar's rate limit, whose 429 also says when to come back (``Retry-After``, seconds).
    Every other answer carries the RateLimit-* headers only: Retry-After on a 201 would tell a
    client to wait for nothing."""

    def create_response_headers(self, cache_object) -> dict[str, str]:
        """The 429's headers (Litestar calls this for the refusal it raises)."""
        headers = super().create_response_headers(cache_object)
        reset = headers.get(self.config.rate_limit_reset_header_key)
        if reset is not None:
            headers["Retry-After"] = str(max(1, int(reset)))
        return headers

    def create_send_wrapper(self, send, cache_object):
        """The headers of an answer within the limit: Litestar's, without Retry-After."""

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableScopeHeaders(message)
                for key, value in RateLimitMiddleware.create_response_headers(self, cache_object).items():
                    headers[key] = value
            await send(message)

        return send_wrapper


def strict_json_body(schema: type) -> Callable[[Request], Awaitable[None]]:
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
                if name in value and not json_type_fits(value[name], kind):
                    raise InvalidInput(f"{name} must be a JSON {json_type_name(kind)}, got {quoted(value[name])}")
            repeated = repeated_key(body)
            if repeated is not None:  # a JSON reader keeps one of them, silently: which one is a guess
                raise InvalidInput(f"the body gives {quoted(repeated)} more than once")

    return check


def repeated_key(body: bytes) -> str | None:
    """The first key that an object of the JSON ``body`` holds twice, None when there is none
    (msgspec, like most readers, keeps the last one)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(set(keys)) < len(keys) and not found:
            found.append(next(key for i, key in enumerate(keys) if key in keys[:i]))
        return dict(items)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except RecursionError:  # the standard reader nests a little deeper per level than msgspec
        raise InvalidInput("the JSON body is nested too deeply") from None
    return found[0] if found else None


def json_type_fits(value: Any, kind: Any) -> bool:
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


def json_type_name(kind: Any) -> str:
    base = getattr(kind, "__origin__", kind)
    return {int: "integer", float: "number", bool: "boolean", str: "string"}.get(base, "value")


def check_admin(config: ServerConfig, api_key: str | None) -> None:
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

    def __init__(self, *args: Any, request_log: RequestLog, body_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_log = request_log
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = HTTP_500_INTERNAL_SERVER_ERROR
        refusal = refused(scope)
        head = scope["method"] == "HEAD"
        if head:  # HEAD is GET without the body (RFC 9110): the same headers, length included
            scope = {**scope, "method": "GET"}
        if b"genre=" in scope.get("query_string", b""):  # genre names match in any case
            scope = {**scope, "query_string": canonical_genres(scope["query_string"])}

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            if refusal is not None:
                await send_json(capture, *refusal)
            else:
                await super().__call__(scope, bounded_body(receive, self.body_timeout_s), capture)
        finally:
            self.request_log.record(
                "HEAD" if head else scope["method"],
                scope.get("path_template"),
                scope["path"],
                status,
                time.perf_counter() - started,
            )


#: Query parameters that take a list (repeated: ``?genre=Comedy&genre=Drama``); every other one
#: takes one value, and repeating it is a 400 (which of two values counts would be a guess).
LIST_PARAMETERS = frozenset({"genre", "exclude"})


def refused(scope: dict) -> tuple[int, str] | None:
    """(status, detail) for a request refused before any route sees it, None for the rest:
    a path with control characters (no route, file or id holds one: 404), or a query that
    repeats a single-valued parameter (400)."""
    path = scope["path"]
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return HTTP_404_NOT_FOUND, "Not Found"
    query = scope.get("query_string", b"")
    if b"&" in query:
        names = [name for name, _ in urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
        for name in dict.fromkeys(names):
            if name not in LIST_PARAMETERS and names.count(name) > 1:
                times = names.count(name)
                return HTTP_400_BAD_REQUEST, f"the query gives {quoted(name)} {times} times; it takes one value"
    return None


async def send_json(send: Callable[[dict], Awaitable[None]], status: int, detail: str) -> None:
    body = json.dumps({"status_code": status, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ClientGone(HTTPException):
    """The client disconnected before its request body had arrived: one log line, no answer
    anybody reads (``client_gone``)."""

    status_code = HTTP_400_BAD_REQUEST


def bounded_body(receive: Receive, timeout_s: float) -> Receive:
    """``receive``, where each part of a request body must arrive within ``timeout_s`` seconds
    (a slow client holds a connection that long at most) and a disconnect before the body is
    complete ends the request quietly (``ClientGone``) instead of a traceback."""
    complete = False

    async def bounded() -> Any:
        nonlocal complete
        if complete:  # after the body: waiting for a disconnect is the app's own business
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout_s)
        except TimeoutError:
            raise HTTPException(
                status_code=HTTP_408_REQUEST_TIMEOUT, detail=f"the request body did not arrive within {timeout_s:g} s"
            ) from None
        if message["type"] == "http.disconnect":
            raise ClientGone(detail="the client disconnected before its request body arrived")
        complete = not message.get("more_body", False)
        return message

    return bounded


#: Query strings longer than this (bytes), and parsed queries of more pairs than the second,
#: bypass Litestar's caches (see bound_query_parsing).
CACHED_QUERY_BYTES = 512
CACHED_QUERY_PAIRS = 32


def bound_query_parsing() -> None:
    """Litestar caches, per distinct query string, its parsed pairs (``parse_query_string``)
    and the dict made of them (``create_query_default_dict``), 1,024 entries each
    (``lru_cache``) whatever their size: 1,024 queries with 500 excluded ids each hold about
    80 MB, which a flood of such requests fills and keeps. Long queries bypass both caches
    (parsing one again costs ~0.1 ms, less than answering it); short ones, the usual requests,
    keep them. Litestar's modules hold their own references to these private functions, so each
    is replaced (idempotent; ``tests/server/test_hostile.py`` checks the effect, and fails if a
    Litestar release moves them)."""
    from litestar import _parsers
    from litestar._kwargs import extractors
    from litestar.connection import base
    from litestar.datastructures import url

    if getattr(_parsers.parse_query_string, "bounded", False):
        return
    parse = _uncached_when(_parsers.parse_query_string, lambda query_string: len(query_string) > CACHED_QUERY_BYTES)
    for module in (_parsers, extractors, base, url):
        module.parse_query_string = parse  # type: ignore[attr-defined]
    extractors.create_query_default_dict = _uncached_when(  # type: ignore[assignment]
        extractors.create_query_default_dict,
        lambda parsed_query, sequence_query_parameter_names: (
            len(parsed_query) > CACHED_QUERY_PAIRS
            or sum(len(name) + len(value) for name, value in parsed_query) > CACHED_QUERY_BYTES
        ),
    )


def _uncached_when(cached: Any, too_large: Callable[..., bool]) -> Any:
    """``cached`` (an ``lru_cache`` function) that calls the function it wraps directly when
    ``too_large`` says so of the arguments."""
    direct = cached.__wrapped__

    def call(*args: Any, **kwargs: Any) -> Any:
        return direct(*args, **kwargs) if too_large(*args, **kwargs) else cached(*args, **kwargs)

    call.bounded = True  # type: ignore[attr-defined]
    call.cache_info = cached.cache_info  # type: ignore[attr-defined]
    call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return call


#: Genre names by their lower case: ``?genre=sci-fi`` is ``?genre=Sci-Fi``.
GENRE_NAMES = {name.lower(): name for name in typing.get_args(S.Genre)}


def canonical_genres(query: bytes) -> bytes:
    """A query string with each ``genre`` value spelled as the catalogue spells it, whatever its
    case; every other byte as it came (values that name no genre are left for the schema's
    400, which lists the names)."""
    parts = query.split(b"&")
    for i, part in enumerate(parts):
        if part.startswith(b"genre="):
            value = urllib.parse.unquote_plus(part[6:].decode("latin-1"))
            name = GENRE_NAMES.get(value.lower())
            if name is not None:
                parts[i] = b"genre=" + urllib.parse.quote_plus(name).encode("ascii")
    return b"&".join(parts)


#: The domain errors the services raise, as HTTP statuses (one handler, one place). Any other
#: RecsysError reaching a handler is a bug: a 500 with an error id, like every unexpected error.
DOMAIN_STATUS = (
    (InvalidInput, HTTP_400_BAD_REQUEST),
    (NotFound, HTTP_404_NOT_FOUND),
    (Unavailable, HTTP_503_SERVICE_UNAVAILABLE),
)


def domain_error(request: Request, exc: RecsysError) -> Response:
    status = next((code for kind, code in DOMAIN_STATUS if isinstance(exc, kind)), None)
    if status is None:
        return internal_error(request, exc)
    return Response({"status_code": status, "detail": str(exc)}, status_code=status, media_type=MediaType.JSON)


#: The choices a parameter or body field accepts, named in a 400 that refuses another value.
CHOICES: dict[str, tuple[str, ...]] = {
    "model": tuple(SERVED_MODELS),
    "left": tuple(SERVED_MODELS),
    "right": tuple(SERVED_MODELS),
    "genre": typing.get_args(S.Genre),
}


def invalid_request(request: Request, exc: ValidationException) -> Response:
    """Litestar's 400 for a value the types refuse, with the valid values wherever a choice
    was refused (``?model=alss``: which models there are)."""
    extra = exc.extra
    if isinstance(extra, list):
        extra = [_with_choices(item) if isinstance(item, dict) else item for item in extra]
    # Litestar's detail ends with the whole URL: a long one is cut to QUOTED_INPUT characters
    detail = exc.detail
    if len(detail) > QUOTED_INPUT + 50:
        detail = f"{detail[:QUOTED_INPUT]}... ({len(detail):,} characters)"
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": detail}
    if extra is not None:
        body["extra"] = extra
    return Response(body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON)


def _with_choices(item: dict[str, Any]) -> dict[str, Any]:
    item = {key: _clipped(value) for key, value in item.items()}
    field = str(item.get("key", "")).split(".")[0]
    if field in CHOICES and "enum" in str(item.get("message", "")):
        return {**item, "message": f"{item['message']}; valid values: {', '.join(CHOICES[field])}"}
    return item


def _clipped(value: Any) -> Any:
    """A value of a 400's ``extra`` as it is, or quoted when it is long (an echoed input)."""
    return value if not isinstance(value, str) or len(value) <= QUOTED_INPUT else quoted(value)


def too_deep(request: Request, exc: RecursionError) -> Response:
    """msgspec refuses JSON nested past its depth limit with a RecursionError: bad input, a 400.
    Any other RecursionError is ours: a 500."""
    if "deserializing" not in str(exc):
        return internal_error(request, exc)
    return Response(
        {"status_code": HTTP_400_BAD_REQUEST, "detail": "the JSON body is nested too deeply"},
        status_code=HTTP_400_BAD_REQUEST,
        media_type=MediaType.JSON,
    )


def client_gone(request: Request, exc: ClientGone) -> Response:
    log.info("%s %s: %s", request.method, quoted(request.url.path), exc.detail)
    return Response({"status_code": exc.status_code, "detail": exc.detail}, status_code=exc.status_code)


def internal_error(request: Request, exc: Exception) -> Response:
    """A bug: logged with its traceback under an error id, which the answer carries (and
    nothing else of the error) so that a report can be matched with the log."""
    error_id = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s on %s", error_id, request.url.path)
    return Response(
        {"status_code": 500, "detail": "internal error", "error_id": error_id},
        status_code=500,
        media_type=MediaType.JSON,
    )


#: Every handler create_app installs.
EXCEPTION_HANDLERS: dict[Any, Callable[..., Response]] = {
    RecsysError: domain_error,
    ValidationException: invalid_request,
    RecursionError: too_deep,
    ClientGone: client_gone,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error,
}
