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
