"""The answer pipeline: one page of one user's list from a published version.

Every page comes from the same lists: the version's precomputed list when it answers the
page on its own (an unfiltered page within it, made by precompute's batch run of the list
pipeline, ``recommender.lists.explained``), else the version's models now
(``LiveModels.user_list``: the same pipeline for one user, with the filter, the user's newest
ratings and the popular top-up). A deep list is
scored once per version, model, filter and requester, and every page is a slice of it, so
pages never repeat or skip a movie.

Id space: MovieLens ids throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from recommender.errors import NotFound
from recommender.models import MODELS
from recommender.names import RANKER
from recommender.version.live import Filter, LiveModels, UserList
from recommender.version.reader import Version

#: Every list ends at this depth: a page is a slice of the first MAX_DEPTH entries.
MAX_DEPTH = 200
NO_FILTER = Filter()

#: Who answered: the model from the user's history, the model from ratings posted to a
#: version that did not know the user (fold-in), or the popular top-up alone.
Tier = Literal["personalised", "fold-in", "popular"]
#: (movie_id, score or None for the top-up, reason movie id or None, ranked_by or None)
Row = tuple[int, float | None, int | None, str | None]
#: A cache of whole lists: (key, compute) -> the cached or computed list.
DeepLists = Callable[[Hashable, Callable[[], UserList]], UserList]


class Page(NamedTuple):
    """Entries ``offset .. offset + k`` of ``model``'s list restricted to ``query`` (a named
    tuple: built and hashed into a cache key on every request)."""

    model: str
    k: int
    offset: int = 0
    query: Filter = NO_FILTER

    @property
    def depth(self) -> int:
        """Where the page ends: every list ends at MAX_DEPTH."""
        return max(self.offset, min(self.offset + self.k, MAX_DEPTH))


class Requester(NamedTuple):
    """Whom a list is for: a user the version knows (``known``; the movies they rated since
    it was published, ``rated_since``, are left out), or one it does not, scored from the
    ``liked`` and ``disliked`` movies they posted. ``generation``: their feedback generation,
    part of every cache key."""

    user_id: int
    generation: int
    known: bool
    liked: tuple[int, ...] = ()
    disliked: tuple[int, ...] = ()
    rated_since: tuple[int, ...] = ()

    @classmethod
    def of(
        cls, version: Version, user_id: int, generation: int, ratings: list[tuple[int, float]], threshold: float
    ) -> Requester:
        """The requester of ``user_id`` with the (movie_id, rating) pairs they posted since the
        version was published: positives (>= ``threshold``) make a stranger's history."""
        rated = tuple(sorted({movie_id for movie_id, _ in ratings}))
        if version.live.row_of(user_id) >= 0:
            return cls(user_id, generation, True, rated_since=rated)
        liked = tuple(movie_id for movie_id, rating in ratings if rating >= threshold)
        disliked = tuple(sorted(set(rated) - set(liked)))
        return cls(user_id, generation, False, liked, disliked)

    @property
    def anonymous(self) -> bool:
        """Unknown and without a rating: every such user gets the same list."""
        return not self.known and not self.liked and not self.disliked

    def user_list(self, live: LiveModels, model: str, n: int, query: Filter) -> UserList:
        return live.user_list(
            model, n, user_id=self.user_id if self.known else None, liked=self.liked, disliked=self.disliked,
            rated_since=self.rated_since, query=query,
        )  # fmt: skip


@dataclass(frozen=True)
class PageAnswer:
    rows: list[Row]  # the page, best first, movies of the version's catalogue only
    tier: Tier


def answer(version: Version, who: Requester, page: Page, deep_lists: DeepLists | None = None) -> PageAnswer:
    """One page for ``who``: the precomputed list when it answers the page on its own, else
    the version's models now (``deep_lists`` caches whole lists; None: no cache)."""
    head, answers = _precomputed_head(version, who, page)
    if answers:
        tier: Tier = "personalised" if version.personalised(page.model, who.user_id) else "popular"
        return PageAnswer(_in_catalog(version, head[page.offset : page.depth]), _plain(version, page.model, tier))
    require_model(version, page.model)
    listed = _user_list(version, who, page, deep_lists)
    rows = _rows(listed)
    if who.known:
        if head and not page.query.active:
            # the precomputed list stays the head: a page never repeats or skips a movie across it
            seen = {m for m, *_ in head}
            rows = head + [r for r in rows if r[0] not in seen]
        personalised = version.personalised(page.model, who.user_id) if head else bool(listed.from_model.any())
        tier = "personalised" if personalised else "popular"
    else:
        tier = "fold-in" if listed.from_model.any() else "popular"
    return PageAnswer(_in_catalog(version, rows[page.offset : page.depth]), _plain(version, page.model, tier))


def for_picks(version: Version, model: str, k: int, liked: list[int], disliked: list[int]) -> PageAnswer:
    """A visitor's list from the movies they picked (nothing stored, nothing cached)."""
    require_model(version, model)
    listed = version.live.user_list(model, k, liked=liked, disliked=disliked)
    tier: Tier = "fold-in" if listed.from_model.any() else "popular"
    return PageAnswer(_in_catalog(version, _rows(listed)), _plain(version, model, tier))


def scores_now(version: Version, user_id: int, page: Page) -> bool:
    """Whether the answer scores the two-stage ranker now (candidates from four models, a
    feature-store query and the booster: tens of milliseconds, hundreds at 25M), so that the
    caller can move it off its event loop: ``answer``'s decision for a user who posted nothing
    since the version (one who did is read from the feedback store, off the loop anyway)."""
    if page.model != RANKER:
        return False
    rows = version.precomputed(page.model, user_id)
    return not (rows and not page.query.active and len(rows) >= page.depth)


def require_model(version: Version, model: str) -> None:
    """The ranker is served only by versions that hold its booster (published after a `recsys run`)."""
    if model not in version.lists and model not in version.live.models:
        raise NotFound(f"version {version.number} has no {model} model: `recsys run` trains it; publish a new version")


def _precomputed_head(version: Version, who: Requester, page: Page) -> tuple[list[Row], bool]:
    """(the user's precomputed rows without the movies rated since, whether they answer the
    page on their own): an unfiltered page within the list. A known user's list already
    leaves out what they rated before the version."""
    rows = version.precomputed(page.model, who.user_id) if who.known else []
    rated = set(who.rated_since)
    head: list[Row] = [row for row in rows if row[0] not in rated]
    return head, bool(rows) and not page.query.active and len(head) >= page.depth


def _user_list(version: Version, who: Requester, page: Page, deep_lists: DeepLists | None) -> UserList:
    """The user's list down to the page's depth. A filtered list of a model that scores every
    item is ranked by (score, movie) alone, a strict order: its top ``depth`` is a prefix of
    every deeper one, so it is computed only as deep as asked (with reasons for those entries
    only). Every other list is a slice of one deep list (MAX_DEPTH long), scored once and
    cached by version, filter and requester (feedback generation included): a top-n's order
    among tied scores may depend on n."""
    live, model, query = version.live, page.model, page.query
    scored = live.models.get(model)
    if query.active and scored is not None and scored.scores_every_item:
        return who.user_list(live, model, page.depth, query)
    if deep_lists is None:
        return who.user_list(live, model, MAX_DEPTH, query)
    # a user the version does not know, with no ratings: the same list as every such user
    person = who._replace(user_id=-1) if who.anonymous else who
    return deep_lists(
        ("deep", version.number, model, query, person), lambda: who.user_list(live, model, MAX_DEPTH, query)
    )


def _plain(version: Version, model: str, tier: Tier) -> Tier:
    """``tier``, or "popular" for a model that ranks alike for everybody (``Recommender.personal``,
    asked of the model's class: a version may hold a model's lists without the model)."""
    kind = MODELS.get(model)
    return "popular" if kind is not None and not kind.personal else tier


def _rows(listed: UserList) -> list[Row]:
    ids = listed.movie_ids.tolist()
    scores = np.where(listed.from_model, listed.scores, np.nan).tolist()
    reasons = listed.reasons.tolist()
    features = listed.features.tolist() if listed.features is not None else [""] * len(ids)
    return [
        (m, None if s != s else s, r or None, f or None)  # NaN: the top-up has no score
        for m, s, r, f in zip(ids, scores, reasons, features)
    ]


def _in_catalog(version: Version, rows: list[Row]) -> list[Row]:
    return [row for row in rows if row[0] in version.catalog]
