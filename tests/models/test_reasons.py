"""The served "because you watched" reasons follow their definition for any lists and histories."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.lists.reasons import reason_items
from recommender.lists.served import ServedLists
from recommender.models import create


@pytest.fixture(scope="module")
def als():
    rng = np.random.default_rng(3)
    matrix = sp.csr_matrix((rng.random((60, 40)) < 0.2).astype(np.float32))
    return create("als", {"factors": 6, "iterations": 3}, seed=2).fit(matrix)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_als_reason_is_the_closest_recent_item(als, data):
    n_items = als.n_items
    n_users = data.draw(st.integers(1, 30))
    k, window = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 8))
    items = np.array(
        data.draw(
            st.lists(st.lists(st.integers(-1, n_items - 1), min_size=k, max_size=k), min_size=n_users, max_size=n_users)
        ),
        dtype=np.int32,
    )
    lengths = data.draw(st.lists(st.integers(0, window), min_size=n_users, max_size=n_users))
    recent = np.full((n_users, window), -1, dtype=np.int64)  # left-aligned, -1 padded
    for u, length in enumerate(lengths):
        recent[u, :length] = data.draw(st.lists(st.integers(0, n_items - 1), min_size=length, max_size=length))
    filled = np.array(
        data.draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=n_users, max_size=n_users))
    )
    lists = ServedLists(items, np.zeros(items.shape, np.float32), filled)

    got = reason_items(als, np.arange(n_users), lists, sp.csr_matrix((n_users, n_items)), recent=recent)

    vectors = als.item_factors / np.maximum(np.linalg.norm(als.item_factors, axis=1, keepdims=True), 1e-12)
    for u in range(n_users):
        hist = recent[u, : lengths[u]]
        for r in range(k):
            if items[u, r] < 0 or filled[u, r] or not len(hist):
                assert got[u, r] == -1
            else:
                cosines = [float(vectors[items[u, r]] @ vectors[h]) for h in hist]
                assert np.isclose(float(vectors[items[u, r]] @ vectors[got[u, r]]), max(cosines), atol=1e-5)
                assert got[u, r] in hist
