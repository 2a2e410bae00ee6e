"""The answer pipeline on a published version: where each page comes from, and that pages of
one list never repeat or skip a movie."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import NotFound
from recommender.names import RANKER
from recommender.sqlfiles import SqlLibrary
from recommender.version.answer import Page, Requester, answer, for_picks, scores_now
from recommender.version.live import Filter
from recommender.version.reader import Version


@pytest.fixture(scope="module")
def version(served):
    opened = Version.open_active(served.serving_dir, SqlLibrary(served.sql_dir))
    yield opened
    opened.close()


def known_user(version: Version) -> int:
    """A user with a personalised list who rated the fewest movies (the longest list left)."""
    lists, live = version.lists["als"], version.live
    rated = np.diff(live.rated.indptr)
    users = [int(u) for u in lists.users if lists.is_personalised(int(u))]
    return min(users, key=lambda u: rated[live.row_of(u)])


def test_an_unfiltered_page_within_the_list_is_the_precomputed_list(version):
    user = known_user(version)
    who = Requester.of(version, user, 0, [], threshold=4.0)
    assert who.known
    page = answer(version, who, Page("als", 5, offset=3))
    assert page.rows == version.precomputed("als", user)[3:8]
    assert page.tier == "personalised"


def test_pages_of_one_list_never_repeat_or_skip_a_movie(version):
    stranger = max(version.catalog) + 1000
    liked = list(version.catalog)[:3]
    who = Requester.of(version, stranger, 1, [(m, 5.0) for m in liked], threshold=4.0)
    cache: dict = {}

    def deep_lists(key, compute):
        return cache[key] if key in cache else cache.setdefault(key, compute())

    for model in ("als", "diverse", "ease"):
        whole = answer(version, who, Page(model, 40)).rows
        paged = [r for offset in range(0, 40, 7) for r in answer(version, who, Page(model, 7, offset), deep_lists).rows]
        assert len(whole) == len(version.catalog) - len(liked)  # every movie not picked, then none
        assert [r[0] for r in paged] == [r[0] for r in whole], model
        assert len({r[0] for r in whole}) == len(whole)
    assert cache  # the deep lists were scored once and sliced


def test_movies_rated_since_the_version_are_left_out(version):
    user = known_user(version)
    first = version.precomputed("als", user)[0][0]
    who = Requester.of(version, user, 1, [(first, 5.0)], threshold=4.0)
    assert who.known and who.rated_since == (first,)
    rows = answer(version, who, Page("als", 10)).rows
    assert first not in [r[0] for r in rows] and len(rows) == 10


def test_a_filter_keeps_only_matching_movies(version):
    user = known_user(version)
    genre = next(g for m in version.catalog.values() for g in m.genres)
    who = Requester.of(version, user, 0, [], threshold=4.0)
    rows = answer(version, who, Page("ease", 10, query=Filter(genres=(genre,)))).rows
    assert rows and all(genre in version.catalog[r[0]].genres for r in rows)


def test_a_stranger_is_scored_from_the_ratings_they_posted(version):
    stranger = max(int(version.lists["als"].users.max()), max(version.catalog)) + 1
    liked = list(version.catalog)[:3]
    who = Requester.of(version, stranger, 1, [(m, 5.0) for m in liked], threshold=4.0)
    assert not who.known and set(who.liked) == set(liked)
    page = answer(version, who, Page("als", 10))
    assert page.tier == "fold-in" and not set(liked) & {r[0] for r in page.rows}
    nobody = answer(version, Requester.of(version, stranger, 0, [], threshold=4.0), Page("als", 10))
    assert nobody.tier == "popular" and len(nobody.rows) == 10
    picks = for_picks(version, "als", 10, liked, [])
    assert [r[0] for r in picks.rows] == [r[0] for r in page.rows]


def test_only_the_ranker_is_scored_now_and_only_without_a_precomputed_page(version):
    user = known_user(version)
    for model in ("als", "ease", "diverse"):
        assert not scores_now(version, user, Page(model, 10, query=Filter(genres=("Drama",))))
    # this version was published without the ranker: no precomputed ranker page, and asking
    # for it is a 404 that names the command that trains it
    assert RANKER not in version.lists
    assert scores_now(version, user, Page(RANKER, 10))
    with pytest.raises(NotFound, match="recsys run"):
        answer(version, Requester.of(version, user, 0, [], threshold=4.0), Page(RANKER, 10))
