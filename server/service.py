"""What the endpoints compute, independent of HTTP: caching, response objects, comparisons.
The lists themselves come from the version's answer pipeline (``recommender.version.answer``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from litestar import MediaType
from litestar.response.base import ASGIResponse

from recommender.errors import InvalidInput, NotFound, quoted
from recommender.evaluation import metrics as M
from recommender.version import answer as pipeline
from recommender.version.answer import NO_FILTER, Page, Requester
from recommender.version.live import Filter
from recommender.version.reader import Version
from recommender.version.tables import SIMILAR_N
from server import schemas as S
from server.state import ServingState


def parse_id(raw: str, name: str) -> int:
    """Path ids arrive as text so that 'abc' gets a 400 saying what is wrong, not a bare 404.
    Only the canonical form is an id (``S.DECIMAL``, a zero fraction allowed), in 1..MAX_ID."""
    if not S.DECIMAL.match(raw):
        raise InvalidInput(f"{name} must be a positive integer written in decimal digits, got {quoted(raw)}")
    digits = raw.split(".")[0]
    if len(digits) > len(str(S.MAX_ID)):  # before int(): Python refuses to read 4,301 digits
        raise InvalidInput(f"{name} must be between 1 and {S.MAX_ID}, got a number of {len(digits):,} digits")
    value = int(digits)
    if not 1 <= value <= S.MAX_ID:
        raise InvalidInput(f"{name} must be between 1 and {S.MAX_ID}, got {value}")
    return value


def query_filter(
    genres: Sequence[str] | None = None,
    year_min: int | None = None,
    year_max: int | None = None,
    exclude: Sequence[int] | None = None,
) -> Filter:
    """A request's filter, in one canonical form (sorted, without repeats: one cache entry);
    an empty year range is a 400, not an empty list."""
    if year_min is not None and year_max is not None and year_min > year_max:
        raise InvalidInput(f"year_min ({year_min}) is after year_max ({year_max}): no movie can match")
    return Filter(tuple(sorted(set(genres or ()))), year_min, year_max, tuple(sorted(set(exclude or ()))))


def reads_feedback(generation: int) -> bool:
    """Whether answering a user with this feedback generation reads the feedback store (and
    may fold in with ALS): such requests go to a worker thread. Every other answer comes from
    memory (cache, lists). A request reads the generation once and passes it on: another
    process's rating may move it meanwhile (the next request sees that)."""
    return generation > 0


def recommend_key(version: Version, user_id: int, page: Page, generation: int) -> tuple:
    """Cache key: the version and the user's feedback generation make stale entries unreachable."""
    return ("recommend", version.number, user_id, page, generation)


def compare_key(
    version: Version, user_id: int, k: int, offset: int, query: Filter, generation: int, models: tuple[str, str]
) -> tuple:
    return ("compare", version.number, user_id, k, offset, query, generation, models)


@dataclass(frozen=True)
class Answer:
    """A cached answer: the response object, and the ASGI response carrying its JSON body,
    both built once. The ASGI response is stateless, so every cache hit can send it as is."""

    value: Any
    response: ASGIResponse

    def approximate_bytes(self) -> int:
        """The cache's weight of this answer: the JSON body, and the objects it was encoded
        from (about as large again)."""
        return 2 * len(self.response.body) + 200

    @classmethod
    def of(cls, value: Any) -> Answer:
        return cls(value, ASGIResponse(body=msgspec.json.encode(value), media_type=MediaType.JSON))


def recommend(state: ServingState, version: Version, user_id: int, page: Page, generation: int | None = None) -> Answer:
    """Cached. Reads the feedback store only when ``reads_feedback(generation)`` (then call it
    from a worker thread); ``generation``: the one the caller read (default: read now)."""
    generation = state.feedback.generation(user_id) if generation is None else generation

    def compute() -> Answer:
        ratings = state.feedback.of_user(user_id) if reads_feedback(generation) else []
        who = Requester.of(version, user_id, generation, ratings, state.config.settings.rating_threshold)
        found = pipeline.answer(version, who, page, _deep_lists(state))
        items = [_item(version.catalog, *row) for row in found.rows]
        return Answer.of(S.Recommendations(user_id, page.model, page.k, found.tier, version.number, items, page.offset))

    answer, _ = state.cache.get_or_compute(recommend_key(version, user_id, page, generation), compute)
    state.requests.tier(answer.value.tier)
    return answer


def _deep_lists(state: ServingState) -> pipeline.DeepLists:
    """The server's cache of whole request-time lists (apart from the answers, so /stats
    counts answers only)."""
    return lambda key, compute: state.deep_lists.get_or_compute(key, compute)[0]


def session(version: Version, body: S.SessionIn) -> S.SessionRecommendations:
    """A list for a visitor's picks, scored now; nothing is stored or cached."""
    model = body.model or version.default_model
    pipeline.require_model(version, model)
    unknown = [m for m in body.liked + body.disliked if m not in version.catalog]
    if unknown:
        # a 404, as a rating of an unknown movie: the ids are well formed, the catalogue lacks them
        raise NotFound(f"movie id(s) not in the catalog of version {version.number}: {quoted(sorted(set(unknown)))}")
    found = pipeline.for_picks(version, model, body.k, body.liked, body.disliked)
    items = [_item(version.catalog, *row) for row in found.rows]
    return S.SessionRecommendations(model, body.k, found.tier, version.number, items)


def compare(
    state: ServingState,
    version: Version,
    user_id: int,
    k: int,
    offset: int = 0,
    query: Filter = NO_FILTER,
    generation: int | None = None,
    left: str | None = None,
    right: str | None = None,
) -> Answer:
    """Two lists side by side: ``left`` (default: the version's default model, the winner on
    val: accuracy-focused) and ``right`` (default: the discovery model)."""
    models = compared_models(version, left, right)
    for model in models:
        pipeline.require_model(version, model)
    generation = state.feedback.generation(user_id) if generation is None else generation
    answer, _ = state.cache.get_or_compute(
        compare_key(version, user_id, k, offset, query, generation, models),
        lambda: Answer.of(_compare(state, version, user_id, k, offset, query, generation, models)),
    )
    return answer


#: The discovery-focused list /compare shows by default.
DISCOVERY_MODEL = "diverse"


def compared_models(version: Version, left: str | None, right: str | None) -> tuple[str, str]:
    """The two models /compare sets side by side: the named ones, else the version's default
    model (left) and the discovery model (right)."""
    return left or version.default_model, right or DISCOVERY_MODEL


def _compare(
    state: ServingState,
    version: Version,
    user_id: int,
    k: int,
    offset: int,
    query: Filter,
    generation: int,
    models: tuple[str, str],
) -> S.Comparison:
    accuracy = recommend(state, version, user_id, Page(models[0], k, offset, query), generation).value
    discovery = recommend(state, version, user_id, Page(models[1], k, offset, query), generation).value
    a = [i.movie_id for i in accuracy.items]
    d = [i.movie_id for i in discovery.items]
    common = [m for m in a if m in set(d)]
    union = set(a) | set(d)
    movies = version.movies(list(union))
    return S.Comparison(
        user_id,
        k,
        version.number,
        accuracy,
        discovery,
        S.Overlap(len(common), round(len(common) / len(union), 4) if union else 0.0, common),
        _list_stats(version, movies, a),
        _list_stats(version, movies, d),
    )


def _list_stats(version: Version, movies, ids: list[int]) -> S.ListStats:
    """Intra-list diversity (the evaluation's metric, genre vectors), mean popularity (users
    who liked each movie) and novelty (the evaluation's: mean -log2 of the share of users)."""
    known = [movies[m] for m in ids if m in movies]
    if not known:
        return S.ListStats(None, None, None)
    counts = np.array([m.popularity for m in known], dtype=np.float64)
    novelty = M.novelty(np.arange(len(known))[None, :], counts, version.n_users, len(known))[0]
    return S.ListStats(_genre_diversity(version, ids), round(float(counts.mean()), 2), round(float(novelty), 3))


def _genre_diversity(version: Version, movie_ids: list[int]) -> float | None:
    """Intra-list diversity over genre vectors: the evaluation's own metric function."""
    columns = [version.item_index[m] for m in movie_ids if m in version.item_index]
    if not columns:
        return None
    vectors = M.normalise_rows(version.genres[columns])
    value = M.intra_list_diversity(np.arange(len(columns))[None, :], vectors, len(columns))[0]
    return None if np.isnan(value) else round(float(value), 4)


def _item(movies, movie_id: int, score, reason_id: int | None, ranked_by: str | None = None) -> S.RecItem:
    m = movies[movie_id]
    reason = S.Reason(reason_id, movies[reason_id].title) if reason_id is not None and reason_id in movies else None
    return S.RecItem(m.movie_id, m.title, m.year, list(m.genres), _num(score), reason, ranked_by)


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 6)


def similar(version: Version, movie_id: int, k: int, offset: int) -> list[tuple]:
    """(movie_id, title, year, genres, score) rows: the version's table for its first
    SIMILAR_N, the version's models past them (``LiveModels.similar``: the same order, so
    pages never repeat)."""
    depth = max(offset, min(offset + k, S.MAX_DEPTH))
    if depth <= SIMILAR_N:
        rows = version.similar(movie_id, depth - offset, offset)
        if len(rows) == depth - offset:  # the table answers the page; a short one goes on below
            return rows
    pairs = version.live.similar(movie_id, depth)[offset:]
    movies = version.movies([m for m, _ in pairs])
    return [(m, movies[m].title, movies[m].year, movies[m].genres, s) for m, s in pairs if m in movies]


def movie_or_404(version: Version, movie_id: int):
    movies = version.movies([movie_id])
    if movie_id not in movies:
        raise NotFound(f"movie {movie_id} is not in the catalog")
    return movies[movie_id]
