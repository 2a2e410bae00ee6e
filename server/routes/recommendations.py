"""Recommendation routes: a user's list, a visitor's picks, the side-by-side comparison,
ratings, and sample users."""

from __future__ import annotations

import functools
from typing import Annotated

from litestar import Router, get, post
from litestar.exceptions import (
    NotFoundException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, QueryParameter
from litestar.response.base import ASGIResponse
from litestar.status_codes import HTTP_201_CREATED

from recommender.version.answer import Page, scores_now
from server import schemas as S
from server import service
from server.http import rate_limit, strict_json_body
from server.routes.shared import (
    LOOKUP_ERRORS,
    Excluded,
    Genres,
    K,
    Offset,
    PathId,
    RatingBody,
    Services,
    SessionBody,
    Year,
    answer,
    ok,
)


def recommendation_routes(services: Services) -> Router:
    @get(
        "/recommend/{user_id:str}",
        raises=LOOKUP_ERRORS,
        responses=ok(S.Recommendations),
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
        serving, version = services.state(), services.version()
        uid = service.parse_id(user_id, "user_id")
        query = service.query_filter(genre, year_min, year_max, exclude)
        page = Page(model or version.default_model, k, offset, query)  # none named: the winner on val
        slow = scores_now(version, uid, page)
        return (await answer(serving, uid, service.recommend, serving, version, uid, page, slow=slow)).response

    @post(
        "/recommend",
        sync_to_thread=True,
        status_code=200,
        raises=[ValidationException, NotFoundException, ServiceUnavailableException],
        before_request=strict_json_body(S.SessionIn),
        responses={
            413: ResponseSpec(
                generate_examples=False, data_container=dict, description="The body is larger than the server accepts"
            ),
            415: ResponseSpec(
                generate_examples=False, data_container=dict, description="The body is not declared as JSON"
            ),
        },
        summary="A list for an anonymous visitor's picks (liked / disliked movie ids); nothing is stored",
    )
    def session(data: SessionBody) -> S.SessionRecommendations:
        return service.session(services.version(), data)

    @get(
        "/compare/{user_id:str}",
        raises=LOOKUP_ERRORS,
        responses=ok(S.Comparison),
        summary="Two lists side by side: by default the accuracy-focused default model (left, `accuracy`) "
        "and the discovery model (right, `discovery`), with their overlap, popularity and novelty",
    )
    async def compare(
        user_id: PathId,
        k: K = 10,
        offset: Offset = 0,
        genre: Genres = None,
        left: FromQuery[S.ModelName | None] = None,
        right: FromQuery[S.ModelName | None] = None,
    ) -> ASGIResponse:
        serving, version = services.state(), services.version()
        uid = service.parse_id(user_id, "user_id")
        query = service.query_filter(genre)
        compare = functools.partial(service.compare, left=left, right=right)
        sides = service.compared_models(version, left, right)
        slow = any(scores_now(version, uid, Page(m, k, offset, query)) for m in sides)
        return (await answer(serving, uid, compare, serving, version, uid, k, offset, query, slow=slow)).response

    @post(
        "/users/{user_id:str}/ratings",
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        raises=[*LOOKUP_ERRORS, TooManyRequestsException],
        before_request=strict_json_body(S.RatingIn),
        middleware=rate_limit(services.config.rate_limit_ratings, "ratings"),
        responses={
            415: ResponseSpec(
                generate_examples=False, data_container=dict, description="The body is not declared as JSON"
            )
        },
        summary="Store a rating; the user's next lists leave the movie out (and may fold it in)",
    )
    def rate(user_id: PathId, data: RatingBody) -> S.RatingStored:
        version = services.version()
        uid = service.parse_id(user_id, "user_id")
        service.movie_or_404(version, data.movie_id)
        feedback = services.state().feedback
        seq = feedback.add(uid, data.movie_id, data.rating)
        return S.RatingStored(uid, data.movie_id, data.rating, seq, feedback.generation(uid))

    @get(
        "/users/sample",
        sync_to_thread=True,
        raises=[ServiceUnavailableException],
        summary="A few known user ids, and an id no model knows and no rating was posted for (a cold start)",
    )
    def sample_users(n: Annotated[int, QueryParameter(ge=1, le=50)] = 5) -> S.UserSample:
        version = services.version()
        users, unknown = version.sample_users(n)
        feedback = services.state().feedback
        while feedback.generation(unknown) > 0:  # it posted ratings: no longer a cold start
            unknown += 1
        return S.UserSample(version.number, users, unknown)

    return Router("/", route_handlers=[recommend, session, compare, rate, sample_users], tags=["recommendations"])
