"""What the endpoints compute, independent of HTTP: tiers, caching, comparisons."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from litestar import MediaType
from litestar.response.base import ASGIResponse

from recommender.errors import InvalidInput, NotFound
from recommender.lists.ranked import RANKER
from recommender.version.live import Filter, LiveModels, Ranked
from recommender.version.tables import SIMILAR_N
from server import schemas as S
from server.snapshot import Snapshot
from server.state import ServingState

NO_FILTER = Filter()


def parse_id(raw: str, name: str) -> int:
    """Path ids arrive as text so that 'abc' gets a 400 saying what is wrong, not a bare 404.
    Only the canonical form is an id (``S.DECIMAL``, a zero fraction allowed), in 1..MAX_ID."""
    if not S.DECIMAL.match(raw):
        raise InvalidInput(f"{name} must be a positive integer written in decimal digits, got {raw!r}")
    value = int(raw.split(".")[0])
    if not 1 <= value <= S.MAX_ID:
        raise InvalidInput(f"{name} must be between 1 and {S.MAX_ID}, got {value}")
    return value


def reads_feedback(generation: int) -> bool:
    """Whether answering a user with this feedback generation reads the feedback store (and
    may fold in with ALS): such requests go to a worker thread. Every other answer comes from
    memory (cache, lists). A request reads the generation once and passes it on: another
    process's rating may move it meanwhile (the next request sees that)."""
    return generation > 0


def precomputed_head(
    snap: Snapshot, user_id: int, model: str, depth: int, query: Filter, rated: AbstractSet[int] = frozenset()
) -> tuple[list[tuple], bool]:
    """(the user's precomputed rows without the movies in ``rated``, whether they answer a page
    ending at ``depth`` on their own): an unfiltered page within the list. Anything else is
    scored from the version's models now."""
    rows = snap.precomputed(model, user_id)
    picks = [row for row in rows if row[0] not in rated]
    return picks, bool(rows) and not query.active and len(picks) >= depth


def ranker_scored_now(snap: Snapshot, user_id: int, model: str, k: int, offset: int, query: Filter) -> bool:
    """Whether the answer scores the two-stage ranker now (candidates from four models, a
    feature-store query and the booster: tens of milliseconds, hundreds at 25M): the request
    then goes to a worker thread. The same decision as ``_compute``'s."""
    depth = max(offset, min(offset + k, S.MAX_DEPTH))
    return model == RANKER and not precomputed_head(snap, user_id, model, depth, query)[1]


def recommend_key(
    snap: Snapshot, user_id: int, model: str, k: int, offset: int, query: Filter, generation: int
) -> tuple:
    """Cache key: the version and the user's feedback generation make stale entries unreachable."""
    return ("recommend", snap.version, user_id, model, k, offset, query, generation)


def compare_key(snap: Snapshot, user_id: int, k: int, offset: int, query: Filter, generation: int) -> tuple:
    return ("compare", snap.version, user_id, k, offset, query, generation)


@dataclass(frozen=True)
class Answer:
    """A cached answer: the response object, and the ASGI response carrying its JSON body,
    both built once. The ASGI response is stateless, so every cache hit can send it as is."""

    value: Any
    response: ASGIResponse

    @classmethod
    def of(cls, value: Any) -> Answer:
        return cls(value, ASGIResponse(body=msgspec.json.encode(value), media_type=MediaType.JSON))


@dataclass(frozen=True)
class Requester:
    """Whom a request-time list is for: a user the version knows (``known``; the movies they
    rated since it was published, ``rated_since``, are left out), or one it does not, scored
    from the ``liked`` and ``disliked`` movies they posted. ``generation``: their feedback
    generation, part of every cache key."""

    user_id: int
    generation: int
    known: bool
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    rated_since: tuple[int, ...] = ()

    @property
    def anonymous(self) -> bool:
        """Unknown and without a rating: every such user gets the same list."""
        return not self.known and not self.liked and not self.disliked

    def ranked(self, live: LiveModels, model: str, n: int, query: Filter) -> Ranked:
        return live.ranked(
            model, n, user_id=self.user_id if self.known else None, liked=self.liked, disliked=self.disliked,
            rated_since=self.rated_since, query=query,
        )  # fmt: skip


def recommend(
    state: ServingState,
    snap: Snapshot,
    user_id: int,
    model: str,
    k: int,
    offset: int = 0,
    query: Filter = NO_FILTER,
    generation: int | None = None,
) -> Answer:
    """Cached. Reads the feedback store only when ``reads_feedback(generation)`` (then call it
    from a worker thread); ``generation``: the one the caller read (default: read now)."""
    generation = state.feedback.generation(user_id) if generation is None else generation
    answer, _ = state.cache.get_or_compute(
        recommend_key(snap, user_id, model, k, offset, query, generation),
        lambda: Answer.of(_compute(state, snap, user_id, model, k, offset, query, generation)),
    )
    state.requests.tier(answer.value.tier)
    return answer


def _compute(
    state: ServingState, snap: Snapshot, user_id: int, model: str, k: int, offset: int, query: Filter, generation: int
) -> S.Recommendations:
    """One answer, from one of two places: the version's precomputed list (an unfiltered page
    within it), or the version's models now (``live.ranked``: filtered lists, deeper pages,
    the ranker of a version too large to precompute it, and every user the version does not
    know, from the ratings they posted since, if any)."""
    feedback = state.feedback.of_user(user_id) if reads_feedback(generation) else []
    rated = {movie_id for movie_id, _ in feedback}
    depth = max(offset, min(offset + k, S.MAX_DEPTH))  # every list ends at MAX_DEPTH
    # known to the version: its list already leaves out what the user rated in the warehouse;
    # ratings posted since are left out here
    picks, answers = precomputed_head(snap, user_id, model, depth, query, rated)
    if answers:
        items = [_item(snap.catalog, *row) for row in picks[offset:depth] if row[0] in snap.catalog]
        tier: S.Tier = "personalised" if snap.personalised(model, user_id) else "popular"
        return S.Recommendations(user_id, model, k, tier, snap.version, items, offset)
    require_model(snap, model)
    if snap.live.row_of(user_id) >= 0:
        known = Requester(user_id, generation, known=True, rated_since=tuple(sorted(rated)))
        ranked = _ranked_list(state, snap, model, query, known, depth)
        entries = _entries(ranked)
        if picks and not query.active:
            # the precomputed list stays the head: a page never repeats or skips a movie across it
            seen = {m for m, *_ in picks}
            entries = picks + [e for e in entries if e[0] not in seen]
        personalised = snap.personalised(model, user_id) if picks else bool(ranked.from_model.any())
        tier = "personalised" if personalised else "popular"
    else:
        # unknown to the version: scored from the ratings posted since (none: the popular top-up)
        threshold = state.config.settings.rating_threshold
        liked = tuple(m for m, rating in feedback if rating >= threshold)
        disliked = tuple(sorted(rated - set(liked)))
        visitor = Requester(user_id, generation, known=False, liked=liked, disliked=disliked)
        ranked = _ranked_list(state, snap, model, query, visitor, depth)
        entries = _entries(ranked)
        tier = "fold-in" if ranked.from_model.any() else "popular"
    items = [_item(snap.catalog, *e) for e in entries[offset:depth] if e[0] in snap.catalog]
    return S.Recommendations(user_id, model, k, tier, snap.version, items, offset)


def require_model(snap: Snapshot, model: str) -> None:
    """The ranker is served only by versions that hold its booster (published after a `recsys run`)."""
    if model not in snap.lists and model not in snap.live.models:
        raise NotFound(f"version {snap.version} has no {model} model: `recsys run` trains it; publish a new version")


def session(snap: Snapshot, body: S.SessionIn) -> S.SessionRecommendations:
    """A list for a visitor's picks, scored now; nothing is stored or cached."""
    model = body.model or snap.default_model
    require_model(snap, model)
    unknown = [m for m in body.liked + body.disliked if m not in snap.catalog]
    if unknown:
        raise InvalidInput(f"movie id(s) not in this version's catalogue: {sorted(set(unknown))}")
    ranked = snap.live.ranked(model, body.k, liked=body.liked, disliked=body.disliked)
    tier: S.Tier = "fold-in" if ranked.from_model.any() else "popular"
    return S.SessionRecommendations(model, body.k, tier, snap.version, _ranked_items(snap, ranked))


def _ranked_list(state: ServingState, snap: Snapshot, model: str, query: Filter, who: Requester, depth: int) -> Ranked:
    """The user's list down to ``depth``. A filtered list of a model that scores every item is
    ranked by (score, movie) alone, a strict order: its top ``depth`` is a prefix of every
    deeper one, so it is computed only as deep as asked (with reasons for those entries only).
    Every other list is a slice of one deep list (``_deep_list``)."""
    if query.active and snap.live.scores_every_item(model):
        return who.ranked(snap.live, model, depth, query)
    return _deep_list(state, snap, model, query, who)


def _deep_list(state: ServingState, snap: Snapshot, model: str, query: Filter, who: Requester) -> Ranked:
    """The user's whole list (MAX_DEPTH long) for a model and filter, scored once and cached by
    version and feedback generation: every page is a slice of the same list, so pages never
    repeat or skip a movie (a top-n's order among tied scores may depend on n)."""
    # a user the version does not know, with no ratings: the same list as every such user
    person = dataclasses.replace(who, user_id=-1) if who.anonymous else who
    ranked, _ = state.deep_lists.get_or_compute(
        ("deep", snap.version, model, query, person), lambda: who.ranked(snap.live, model, S.MAX_DEPTH, query)
    )
    return ranked


def _entries(ranked) -> list[tuple[int, float | None, int | None, str | None]]:
    """(movie_id, score or None for the top-up, reason movie or None, ranked_by or None) rows."""
    ids = ranked.movie_ids.tolist()
    scores = np.where(ranked.from_model, ranked.scores, np.nan).tolist()
    reasons = ranked.reasons.tolist()
    features = ranked.features.tolist() if ranked.features is not None else [""] * len(ids)
    return [(m, s, r or None, f or None) for m, s, r, f in zip(ids, scores, reasons, features)]


def _ranked_items(snap: Snapshot, ranked) -> list[S.RecItem]:
    return [_item(snap.catalog, *e) for e in _entries(ranked) if e[0] in snap.catalog]


def compare(
    state: ServingState,
    snap: Snapshot,
    user_id: int,
    k: int,
    offset: int = 0,
    query: Filter = NO_FILTER,
    generation: int | None = None,
) -> Answer:
    generation = state.feedback.generation(user_id) if generation is None else generation
    answer, _ = state.cache.get_or_compute(
        compare_key(snap, user_id, k, offset, query, generation),
        lambda: Answer.of(_compare(state, snap, user_id, k, offset, query, generation)),
    )
    return answer


def _compare(
    state: ServingState, snap: Snapshot, user_id: int, k: int, offset: int, query: Filter, generation: int
) -> S.Comparison:
    # the accuracy-focused list is the version's default model (the winner on val)
    accuracy = recommend(state, snap, user_id, snap.default_model, k, offset, query, generation).value
    discovery = recommend(state, snap, user_id, "diverse", k, offset, query, generation).value
    a = [i.movie_id for i in accuracy.items]
    d = [i.movie_id for i in discovery.items]
    common = [m for m in a if m in set(d)]
    union = set(a) | set(d)
    movies = snap.movies(list(union))
    return S.Comparison(
        user_id,
        k,
        snap.version,
        accuracy,
        discovery,
        S.Overlap(len(common), round(len(common) / len(union), 4) if union else 0.0, common),
        _list_stats(snap, movies, a),
        _list_stats(snap, movies, d),
    )


def _list_stats(snap: Snapshot, movies, ids: list[int]) -> S.ListStats:
    """Intra-list diversity (the evaluation's metric, genre vectors) and mean popularity."""
    known = [movies[m] for m in ids if m in movies]
    if not known:
        return S.ListStats(None, None)
    return S.ListStats(snap.genre_diversity(ids), round(sum(m.popularity for m in known) / len(known), 2))


def _item(movies, movie_id: int, score, reason_id: int | None, ranked_by: str | None = None) -> S.RecItem:
    m = movies[movie_id]
    reason = S.Reason(reason_id, movies[reason_id].title) if reason_id is not None and reason_id in movies else None
    return S.RecItem(m.movie_id, m.title, m.year, list(m.genres), _num(score), reason, ranked_by)


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 6)


def similar(snap: Snapshot, movie_id: int, k: int, offset: int) -> list[tuple]:
    """(movie_id, title, year, genres, score) rows: the version's table for its first
    SIMILAR_N, the ItemKNN model itself past them (the same order, so pages never repeat)."""
    depth = max(offset, min(offset + k, S.MAX_DEPTH))
    if depth <= SIMILAR_N:
        return snap.similar(movie_id, depth - offset, offset)
    pairs = snap.live.similar(movie_id, depth)[offset:]
    movies = snap.movies([m for m, _ in pairs])
    return [(m, movies[m].title, movies[m].year, movies[m].genres, s) for m, s in pairs if m in movies]


def movie_or_404(snap: Snapshot, movie_id: int):
    movies = snap.movies([movie_id])
    if movie_id not in movies:
        raise NotFound(f"movie {movie_id} is not in the catalog")
    return movies[movie_id]
