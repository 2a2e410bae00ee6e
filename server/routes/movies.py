"""Catalogue routes: title search, one movie, similar movies."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import QueryParameter

from server import schemas as S
from server import service
from server.routes.shared import LOOKUP_ERRORS, K, Offset, PathId, Services


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
