"""The served "because you liked" reasons follow their rule for any lists and histories, and
each model's own proposal (``explain``) follows its definition."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.lists.reasons import MIN_LINK, SHORTLIST, Links, genre_bits, reason_items
from recommender.lists.served import ServedLists
from recommender.models import create


@pytest.fixture(scope="module")
def positives():
    rng = np.random.default_rng(3)
    return sp.csr_matrix((rng.random((60, 40)) < 0.2).astype(np.float32))


@pytest.fixture(scope="module")
def als(positives):
    return create("als", {"factors": 6, "iterations": 3}, seed=2).fit(positives)


@pytest.fixture(scope="module")
def links(positives):
    rng = np.random.default_rng(5)
    names = ["Action", "Comedy", "Drama", "Horror"]
    genres = {m: [g for g in names if rng.random() < 0.35] for m in range(positives.shape[1])}
    return Links.fit(positives, genre_bits(np.arange(positives.shape[1]), genres))


def _cosines(positives):
    x = positives.toarray() > 0
    counts = x.sum(axis=0)
    both = x.T.astype(float) @ x.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(np.outer(counts, counts) > 0, both / np.sqrt(np.outer(counts, counts)), 0.0)
    np.fill_diagonal(cos, 0.0)
    return cos


def _lists(data, n_users, n_items):
    k = data.draw(st.integers(1, 6))
    items = np.array(
        data.draw(
            st.lists(st.lists(st.integers(-1, n_items - 1), min_size=k, max_size=k), min_size=n_users, max_size=n_users)
        ),
        dtype=np.int32,
    )
    filled = np.array(
        data.draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=n_users, max_size=n_users))
    )
    return ServedLists(items, np.zeros(items.shape, np.float32), filled)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_reason_is_the_best_linked_history_movie_by_the_rule(positives, als, links, data):
    """Against a direct reading of the rule: exact cosines over the positives, the user's
    SHORTLIST most linked history movies, the proposal first if it qualifies, then a shared
    genre, then link strength; no reason when nothing in the history is linked."""
    n_items = positives.shape[1]
    n_users = data.draw(st.integers(1, 12))
    lists = _lists(data, n_users, n_items)
    history = sp.csr_matrix(
        np.array(
            data.draw(
                st.lists(
                    st.lists(st.booleans(), min_size=n_items, max_size=n_items), min_size=n_users, max_size=n_users
                )
            )
        ).astype(np.float32)
    )
    row = st.lists(st.integers(-1, n_items - 1), min_size=lists.k, max_size=lists.k)
    proposed = np.array(data.draw(st.lists(row, min_size=n_users, max_size=n_users)), dtype=np.int32)
    got = reason_items(
        als, np.arange(n_users), lists, history, recent=np.zeros((n_users, 0)), links=links, proposed=proposed
    )

    cos = _cosines(positives)
    # the links keep each movie's strongest; none of this small catalogue's rows is cut
    assert links.strongest.getnnz(axis=1).max() < 100
    for u in range(n_users):
        hist = history.indices[history.indptr[u] : history.indptr[u + 1]]
        for r in range(lists.k):
            item = lists.items[u, r]
            if item < 0 or lists.filled[u, r]:
                assert got[u, r] == -1
                continue
            linked = [h for h in hist if cos[item, h] >= MIN_LINK - 1e-6 and h != item]
            if not linked:
                assert got[u, r] == -1
                continue
            reason = got[u, r]
            assert reason in linked
            # strongest first, ties by movie index (cosines compared to 5 decimals: float32 there)
            shortlist = sorted(linked, key=lambda h: (-round(cos[item, h], 5), h))[:SHORTLIST]
            assert reason in shortlist
            shares = [h for h in shortlist if links.genres[h] & links.genres[item]]
            if shares:
                assert links.genres[reason] & links.genres[item]
                if proposed[u, r] not in shares:
                    assert reason == shares[0]
            else:
                assert reason == shortlist[0]
            if proposed[u, r] in shares:
                assert reason == proposed[u, r]


def test_a_model_without_links_to_the_history_gets_no_reason(als, links):
    """A history with no linked movie: every entry says no reason rather than a random one."""
    strongest = links.strongest
    item = int(np.argmin(strongest.getnnz(axis=1)))
    linked = set(strongest.indices[strongest.indptr[item] : strongest.indptr[item + 1]].tolist())
    unlinked = [h for h in range(strongest.shape[0]) if h not in linked and h != item][:5]
    history = sp.csr_matrix(
        (np.ones(len(unlinked), np.float32), (np.zeros(len(unlinked), int), unlinked)), shape=(1, strongest.shape[0])
    )
    lists = ServedLists(np.array([[item]], np.int32), np.zeros((1, 1), np.float32), np.zeros((1, 1), bool))
    got = reason_items(
        als,
        np.zeros(1, np.int64),
        lists,
        history,
        recent=np.zeros((1, 0)),
        links=links,
        proposed=np.array([[unlinked[0]]]),
    )
    assert got[0, 0] == -1


def test_links_round_trip(links, tmp_path):
    links.save(tmp_path / "links.npz")
    back = Links.load(tmp_path / "links.npz")
    assert (back.strongest != links.strongest).nnz == 0
    assert np.array_equal(back.genres, links.genres)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_als_proposal_is_the_closest_recent_item(als, data):
    n_items = als.n_items
    n_users = data.draw(st.integers(1, 30))
    window = data.draw(st.integers(1, 8))
    lists = _lists(data, n_users, n_items)
    items, k = lists.items, lists.k
    lengths = data.draw(st.lists(st.integers(0, window), min_size=n_users, max_size=n_users))
    recent = np.full((n_users, window), -1, dtype=np.int64)  # left-aligned, -1 padded
    for u, length in enumerate(lengths):
        recent[u, :length] = data.draw(st.lists(st.integers(0, n_items - 1), min_size=length, max_size=length))

    got = als.explain(np.arange(n_users), items, sp.csr_matrix((n_users, n_items)), recent)

    vectors = als.item_factors / np.maximum(np.linalg.norm(als.item_factors, axis=1, keepdims=True), 1e-12)
    for u in range(n_users):
        hist = recent[u, : lengths[u]]
        for r in range(k):
            if items[u, r] < 0 or not len(hist):
                assert got[u, r] == -1
            else:
                cosines = [float(vectors[items[u, r]] @ vectors[h]) for h in hist]
                assert np.isclose(float(vectors[items[u, r]] @ vectors[got[u, r]]), max(cosines), atol=1e-5)
                assert got[u, r] in hist


def test_popular_lists_give_no_reasons(positives, links):
    """Popularity does not read the history: a reason would claim a link it never used."""
    popular = create("popular").fit(positives)
    lists = ServedLists(np.array([[0, 1, 2]], np.int32), np.zeros((1, 3), np.float32), np.zeros((1, 3), bool))
    got = reason_items(popular, np.zeros(1, np.int64), lists, positives[:1], recent=np.zeros((1, 0)), links=links)
    assert (got == -1).all()


def test_links_read_from_an_itemknn_that_keeps_enough_equal_the_links_computed(positives, links):
    """An ItemKNN fitted on the same positives with every neighbour kept gives the same links
    (the publication reads them instead of computing them twice); one that keeps few is not read."""
    every = create("itemknn", {"neighbours": None}).fit(positives)
    again = Links.fit(positives, links.genres, every)
    assert (abs(again.strongest - links.strongest) > 1e-6).nnz == 0
    assert np.array_equal(again.strongest.indices, links.strongest.indices)
    assert create("itemknn", {"neighbours": 20}).fit(positives).cosine_neighbours(100, 0.05) is None


@pytest.mark.parametrize("neighbours", [5, None])  # 5 < the window: rows walked; None: pairs looked up
def test_itemknn_proposal_is_the_recent_item_voting_most_for_the_movie(positives, neighbours):
    """ItemKNN's proposal is its largest share of the score, S[h, w] over the recent history h,
    whichever way it is found (S is not symmetric once each row keeps its top neighbours)."""
    knn = create("itemknn", {"neighbours": neighbours}).fit(positives)
    dense = knn.similarity.toarray()
    rng = np.random.default_rng(7)
    n_users, k, window = 30, 4, 8
    items = rng.integers(-1, positives.shape[1], size=(n_users, k)).astype(np.int32)
    recent = np.full((n_users, window), -1, dtype=np.int64)
    for u in range(n_users):
        length = int(rng.integers(0, window + 1))
        recent[u, :length] = rng.choice(positives.shape[1], size=length, replace=False)
    got = knn.explain(np.arange(n_users), items, sp.csr_matrix((n_users, positives.shape[1])), recent)
    for u in range(n_users):
        hist = recent[u][recent[u] >= 0]
        for r in range(k):
            votes = dense[hist, items[u, r]] if len(hist) and items[u, r] >= 0 else np.zeros(0)
            if items[u, r] < 0 or not (votes > 0).any():
                assert got[u, r] == -1
            else:
                assert got[u, r] in hist and np.isclose(dense[got[u, r], items[u, r]], votes.max())


def test_a_model_whose_explain_takes_four_arguments_still_gets_reasons(positives, links):
    """A registered model may override ``explain`` with the documented four arguments: the list
    pipeline passes ``ranked_by`` only to a model that ranks by named features."""
    popular = create("popular").fit(positives)

    class FourArguments(type(popular)):
        personal = True

        def explain(self, users, items, history, recent):
            return np.full(np.shape(items), -1, dtype=np.int32)

    model = FourArguments()
    model.__dict__.update(popular.__dict__)
    lists = ServedLists(np.array([[0, 1, 2]], np.int32), np.zeros((1, 3), np.float32), np.zeros((1, 3), bool))
    got = reason_items(model, np.zeros(1, np.int64), lists, positives[:1], recent=np.zeros((1, 0)), links=links)
    assert got.shape == (1, 3)
