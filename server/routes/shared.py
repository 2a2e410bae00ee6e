"""What every route module shares: the handlers' context (``Services``), the query and path
parameter types, and the answer helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar.concurrency import sync_to_thread
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter, QueryParameter

from recommender.version.reader import NotReady, Version
from server import schemas as S
from server import service
from server.config import ServerConfig
from server.metrics import Metrics
from server.requestlog import RequestLog
from server.state import ServingState

K = Annotated[int, QueryParameter(ge=1, le=S.MAX_K, description="page length")]
Offset = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=S.MAX_DEPTH - 1,
        description=f"items to skip: pages of one list never repeat an item; lists end at depth {S.MAX_DEPTH}",
    ),
]
SimilarOffset = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=S.MAX_DEPTH - 1,
        description="items to skip: a movie's similar list holds the ItemKNN model's neighbours, then the "
        "movie's strongest co-occurrence links (at most 100): it ends there, often before depth "
        f"{S.MAX_DEPTH}; a page past its end is empty",
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
# its example names real movies (1: Toy Story, 2: Jumanji): random ids are rarely in a catalogue
SessionBody = Annotated[
    S.SessionIn,
    Body(schema_extra={"additionalProperties": False, "examples": [{"liked": [1, 2], "k": 10}]}),
]
#: What an admin route can answer besides 200: no key configured, wrong key, not ready, too many.
ADMIN_ERRORS = [
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
]
LOOKUP_ERRORS = [ValidationException, NotFoundException, ServiceUnavailableException]


def ok(schema: type) -> dict[int, ResponseSpec]:
    """OpenAPI for handlers that return a cached, already-encoded ASGIResponse (no generated
    examples: random titles and ids would read as real ones in the documentation)."""
    return {
        200: ResponseSpec(
            generate_examples=False, data_container=schema, description="Request fulfilled, document follows"
        )
    }


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

    def version(self) -> Version:
        return self.state().current()


async def answer(
    serving: ServingState, user_id: int, compute: Callable[..., service.Answer], *args: Any, slow: bool = False
) -> service.Answer:
    """Cache hits, in-memory lists and lists scored from the in-memory models (about 1 ms) are
    answered on the event loop: a worker-thread hop costs more than it saves under load (docs/performance.md,
    serving benchmark). A user with posted feedback (read from the feedback store) and a ranker
    list scored now (``slow``: ``recommender.version.answer.scores_now``) go to a worker thread."""
    generation = serving.feedback.generation(user_id)  # read once: another process may move it
    if slow or service.reads_feedback(generation):
        return await sync_to_thread(compute, *args, generation=generation)
    return compute(*args, generation=generation)
