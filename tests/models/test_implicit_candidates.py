"""Our fast path into implicit's top-k returns exactly what implicit's own recommend does."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.models import create
from recommender.models._implicit import implicit_candidates, single_threaded_blas


@pytest.fixture(scope="module")
def als_and_matrix():
    rng = np.random.default_rng(7)
    users, items = 400, 150
    dense = (rng.random((users, items)) < rng.random((users, 1)) * 0.2).astype(np.float32)  # 0..20% density
    matrix = sp.csr_matrix(dense)
    model = create("als", {"factors": 8, "iterations": 5}, seed=1).fit(matrix)
    return model.model_, matrix


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matches_implicits_recommend(als_and_matrix, data):
    model, matrix = als_and_matrix
    users = np.array(data.draw(st.lists(st.integers(0, matrix.shape[0] - 1), min_size=1, max_size=350)))
    n = data.draw(st.integers(1, matrix.shape[1]))
    history = matrix[users]
    ours = implicit_candidates(model, users, history, n)
    with single_threaded_blas():  # the same BLAS set-up: sums in the same order, same floats
        theirs = model.recommend(users, history, N=n, filter_already_liked_items=True)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 30), neighbours=st.sampled_from([5, 20, 200]))
def test_itemknn_leaves_out_every_excluded_item_and_scores_from_the_history_alone(seed, k, neighbours):
    """ItemKNN hands implicit the excluded items with weight 0: the lists equal implicit's
    lists from the history alone with the excluded items taken out afterwards."""
    rng = np.random.default_rng(seed)
    users, items = 120, 60
    liked = rng.random((users, items)) < 0.12
    disliked = (rng.random((users, items)) < 0.12) & ~liked
    history, exclude = sp.csr_matrix(liked.astype(np.float32)), sp.csr_matrix((liked | disliked).astype(np.float32))
    model = create("itemknn", {"neighbours": neighbours}).fit(history)
    ours = model.recommend(np.arange(users), history, k, exclude)
    ids, scores = model.model_.recommend(np.arange(users), history, N=items, filter_already_liked_items=True)
    for u in range(users):
        keep = [(i, s) for i, s in zip(ids[u], scores[u]) if i >= 0 and s > 0 and not disliked[u, i]][:k]
        got = [(i, s) for i, s in zip(ours.items[u], ours.scores[u]) if i >= 0]
        # the same scores in the same order; equal scores may swap places (ties)
        np.testing.assert_allclose([s for _, s in got], [s for _, s in keep], rtol=1e-5)
        assert not any(disliked[u, i] or liked[u, i] for i, _ in got), u
        last = keep[-1][1] if keep else 0
        assert {i for i, s in got if s > last + 1e-6} == {i for i, s in keep if s > last + 1e-6}, u
