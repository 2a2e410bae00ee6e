"""Catalogue routes: title search, one movie, similar movies."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import QueryParameter

from server import schemas as S
from server import service
from server.routes.shared import LOOKUP_ERRORS, K, PathId, Services, SimilarOffset


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
        version = services.version()
        return [S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity) for m in version.search(q, limit)]

    @get("/movies/{movie_id:str}", sync_to_thread=True, raises=LOOKUP_ERRORS, summary="One movie")
    def movie(movie_id: PathId) -> S.Movie:
        m = service.movie_or_404(services.version(), service.parse_id(movie_id, "movie_id"))
        return S.Movie(m.movie_id, m.title, m.year, list(m.genres), m.popularity)

    @get(
        "/similar/{movie_id:str}",
        sync_to_thread=True,
        raises=LOOKUP_ERRORS,
        summary="Most similar movies (item-item cosine)",
    )
    def similar(movie_id: PathId, k: K = 10, offset: SimilarOffset = 0) -> S.Similar:
        version = services.version()
        m = service.movie_or_404(version, service.parse_id(movie_id, "movie_id"))
        rows = service.similar(version, m.movie_id, k, offset)
        return S.Similar(
            m.movie_id,
            m.title,
            version.number,
            [S.SimilarItem(r[0], r[1], r[2], list(r[3] or []), round(float(r[4]), 6)) for r in rows],
        )

    return Router("/", route_handlers=[search, movie, similar], tags=["movies"])
