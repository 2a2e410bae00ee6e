"""What the endpoints compute, independent of HTTP: tiers, caching, comparisons."""

from __future__ import annotations

import math

import msgspec
import numpy as np
from litestar import MediaType
from litestar.response.base import ASGIResponse

from recommender.errors import InvalidInput, NotFound, Unavailable
from recommender.serving.live import Filter
from recommender.serving.ranked import RANKER
from recommender.serving.tables import SIMILAR_N
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


def check_page(snap: Snapshot, k: int, offset: int = 0, computed: bool = False) -> None:
    """Lists past the precomputed length, filtered lists and sessions (``computed``) are
    scored from the version's models; a version published before those were written has
    only its tables. (Every list ends at depth MAX_DEPTH: a page past it is short or empty.)"""
    if snap.live is None and (min(offset + k, S.MAX_DEPTH) > snap.info["serve_n"] or computed):
        raise Unavailable(
            f"version {snap.version} holds only its precomputed lists (offset + k <= {snap.info['serve_n']}, "
            "no filters): publish a new version with `recsys precompute` for filters and deeper pages"
        )


def reads_feedback(generation: int) -> bool:
    """Whether answering a user with this feedback generation reads the feedback store (and
    may fold in with ALS): such requests go to a worker thread. Every other answer comes from
    memory (cache, lists). A request reads the generation once and passes it on: another
    process's rating may move it meanwhile (the next request sees that)."""
    return generation > 0


def ranker_scored_now(snap: Snapshot, user_id: int, model: str, k: int, offset: int, query: Filter) -> bool:
    """Whether the answer may score the two-stage ranker now (candidates from four models, a
    feature-store query and the booster: tens of milliseconds, hundreds at 25M): its precomputed
    list answers only unfiltered pages within it (a user with few unrated movies left has a
    shorter one), and a large version has none."""
    if model != RANKER:
        return False
    lists = snap.lists.get(RANKER)
    return lists is None or query.active or offset + k > lists.length(user_id)


def recommend_key(
    snap: Snapshot, user_id: int, model: str, k: int, offset: int, query: Filter, generation: int
) -> tuple:
    """Cache key: the version and the user's feedback generation make stale entries unreachable."""
    return ("recommend", snap.version, user_id, model, k, offset, query, generation)


def compare_key(snap: Snapshot, user_id: int, k: int, offset: int, query: Filter, generation: int) -> tuple:
    return ("compare", snap.version, user_id, k, offset, query, generation)


class Answer(tuple):
    """A cached answer: the response object, and the ASGI response carrying its JSON body,
    both built once. The ASGI response is stateless, so every cache hit can send it as is."""

    @classmethod
    def of(cls, value) -> Answer:
        return cls((value, ASGIResponse(body=msgspec.json.encode(value), media_type=MediaType.JSON)))

    @property
    def value(self):
        return self[0]

    @property
    def response(self) -> ASGIResponse:
        return self[1]


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
    check_page(snap, k, offset, query.active)
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
    feedback = state.feedback.of_user(user_id) if reads_feedback(generation) else []
    rated = {movie_id for movie_id, _ in feedback}
    rows = snap.precomputed(model, user_id)
    depth = max(offset, min(offset + k, S.MAX_DEPTH))  # every list ends at MAX_DEPTH
    threshold = state.config.settings.rating_threshold
    positives = [m for m, rating in feedback if rating >= threshold]
    if rows:
        # known to the version: its list already leaves out what the user rated in the warehouse;
        # ratings posted since are left out here
        picks = [row for row in rows if row[0] not in rated]
        if snap.live is None or (not query.active and len(picks) >= depth):
            items = [_item(snap.catalog, *row) for row in picks[offset:depth] if row[0] in snap.catalog]
            tier = "personalised" if snap.personalised(model, user_id) else "popular"
            return S.Recommendations(user_id, model, k, tier, snap.version, items, offset)
    require_model(snap, model)
    live = snap.live
    if live is not None and live.row_of(user_id) >= 0:
        # filtered, deeper than the precomputed list, or the ranker of a version too large to
        # precompute it
        ranked = _ranked_list(state, snap, model, query, (user_id, generation), depth, rated_since=tuple(sorted(rated)))
        entries = _entries(ranked)
        if rows and not query.active:
            # the precomputed list stays the head: a page never repeats or skips a movie across it
            seen = {m for m, *_ in picks}
            entries = picks + [e for e in entries if e[0] not in seen]
        personalised = snap.personalised(model, user_id) if rows else bool(ranked.from_model.any())
        items = [_item(snap.catalog, *e) for e in entries[offset:depth] if e[0] in snap.catalog]
        tier = "personalised" if personalised else "popular"
        return S.Recommendations(user_id, model, k, tier, snap.version, items, offset)
    if live is not None and (positives or query.active or depth > len(snap.popular) or model not in snap.lists):
        # unknown to the version: scored from the ratings posted since (all pages alike)
        disliked = tuple(sorted(m for m in rated if m not in set(positives)))
        ranked = _ranked_list(
            state, snap, model, query, (user_id, generation), depth, liked=tuple(positives), disliked=disliked
        )
        items = [_item(snap.catalog, *e) for e in _entries(ranked)[offset:depth] if e[0] in snap.catalog]
        tier = "fold-in" if ranked.from_model.any() else "popular"
        return S.Recommendations(user_id, model, k, tier, snap.version, items, offset)
    if positives:
        picks = snap.fold_in(positives, rated, model, k)
        if picks:
            movies = snap.movies([m for m, _, _ in picks] + [r for _, _, r in picks if r is not None])
            items = [_item(movies, m, score, reason) for m, score, reason in picks if m in movies]
            return S.Recommendations(user_id, model, k, "fold-in", snap.version, items, offset)
    picks = snap.popular_excluding(rated, depth)[offset:]
    movies = snap.movies([m for m, _ in picks])
    items = [_item(movies, m, score, None) for m, score in picks if m in movies]
    return S.Recommendations(user_id, model, k, "popular", snap.version, items, offset)


def require_model(snap: Snapshot, model: str) -> None:
    """The ranker is served only by versions that hold its booster (published after a `recsys run`)."""
    if model not in snap.lists and (snap.live is None or model not in snap.live.models):
        raise NotFound(f"version {snap.version} has no {model} model: `recsys run` trains it; publish a new version")


def session(snap: Snapshot, body: S.SessionIn) -> S.SessionRecommendations:
    """A list for a visitor's picks, scored now; nothing is stored or cached."""
    check_page(snap, body.k, computed=True)
    model = body.model or snap.default_model
    require_model(snap, model)
    unknown = [m for m in body.liked + body.disliked if m not in snap.catalog]
    if unknown:
        raise InvalidInput(f"movie id(s) not in this version's catalogue: {sorted(set(unknown))}")
    ranked = snap.live.ranked(model, body.k, liked=body.liked, disliked=body.disliked)
    tier = "fold-in" if ranked.from_model.any() else "popular"
    return S.SessionRecommendations(model, body.k, tier, snap.version, _ranked_items(snap, ranked))


def _ranked_list(
    state: ServingState, snap: Snapshot, model: str, query: Filter, user: tuple[int, int], depth: int, **who
):
    """The user's list down to ``depth``. A filtered list of a model that scores every item is
    ranked by (score, movie) alone, a strict order: its top ``depth`` is a prefix of every
    deeper one, so it is computed only as deep as asked (with reasons for those entries only).
    Every other list is a slice of one deep list (``_deep_list``). ``user``: (id, generation)."""
    live = snap.live
    if query.active and live.scores_every_item(model):
        who_id = {"user_id": user[0]} if "liked" not in who else {}
        return live.ranked(model, depth, query=query, **who_id, **who)
    return _deep_list(state, snap, model, query, user, **who)


def _deep_list(state: ServingState, snap: Snapshot, model: str, query: Filter, user: tuple[int, int], **who):
    """The user's whole list (MAX_DEPTH long) for a model and filter, scored once and cached by
    version and feedback generation: every page is a slice of the same list, so pages never
    repeat or skip a movie (a top-n's order among tied scores may depend on n)."""
    user_id, generation = user
    key = ("deep", snap.version, model, query, user_id, generation, tuple(who.items()))
    ranked, _ = state.deep_lists.get_or_compute(
        key,
        lambda: snap.live.ranked(
            model, S.MAX_DEPTH, user_id=user_id if "liked" not in who else None, query=query, **who
        ),
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
    check_page(snap, k, offset, query.active)
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
    check_page(snap, k, offset)
    depth = max(offset, min(offset + k, S.MAX_DEPTH))
    if depth <= SIMILAR_N or snap.live is None:
        return snap.similar(movie_id, depth - offset, offset)
    pairs = snap.live.similar(movie_id, depth)[offset:]
    movies = snap.movies([m for m, _ in pairs])
    return [(m, movies[m].title, movies[m].year, movies[m].genres, s) for m, s in pairs if m in movies]


def movie_or_404(snap: Snapshot, movie_id: int):
    movies = snap.movies([movie_id])
    if movie_id not in movies:
        raise NotFound(f"movie {movie_id} is not in the catalog")
    return movies[movie_id]
