"""EASE against the paper's formula, its item cap and reasons; the hybrid's blend; ALS warm starts."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models import ALS, EASE, HybridALS, TopN, load


def random_binary(users=120, items=40, density=0.15, seed=0):
    m = sp.random(users, items, density=density, format="csr", random_state=seed, dtype=np.float32)
    m.data[:] = 1.0
    return m


def paper_ease(x: np.ndarray, lam: float) -> np.ndarray:
    g = x.T @ x + lam * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = p / (-np.diag(p))
    np.fill_diagonal(b, 0.0)
    return b


@pytest.mark.parametrize("lam", [0.5, 10.0, 300.0])
def test_ease_weights_and_lists_match_the_papers_formula(lam):
    m = random_binary()
    model = EASE({"lam": lam, "max_items": None}).fit(m)
    dense = m.toarray().astype(np.float64)
    used = np.flatnonzero(dense.sum(axis=0) > 0)
    reference = paper_ease(dense[:, used], lam)
    assert np.allclose(model.weights_, reference, atol=1e-4 * max(1.0, np.abs(reference).max()))
    scores = dense[:, used] @ reference
    scores[dense[:, used] > 0] = -np.inf
    expected = used[np.argsort(-scores, axis=1, kind="stable")[:, :5]]
    got = model.recommend(np.arange(m.shape[0]), m, 5).items
    agree = (got == expected).mean()
    assert agree > 0.98  # float32 vs float64: only near-ties may swap


def test_the_item_cap_models_the_most_popular_items_only():
    m = random_binary(users=200, items=50, density=0.2, seed=1)
    counts = np.asarray(m.sum(axis=0)).ravel()
    model = EASE({"lam": 5.0, "max_items": 10}).fit(m)
    assert model.n_modelled == 10 and model.weights_.shape == (10, 10)
    assert set(model.items_) == set(np.argsort(-counts, kind="stable")[:10])
    top = model.recommend(np.arange(200), m, 5).items
    assert set(top[top >= 0].tolist()) <= set(model.items_.tolist())  # the rest is the fallback's


def test_ease_round_trips_and_names_a_reason_from_the_history(tmp_path):
    m = random_binary(seed=2)
    model = EASE({"lam": 2.0, "max_items": None}).fit(m)
    again = load(model.save(tmp_path / "ease.npz"))
    users = np.arange(30)
    assert np.array_equal(model.recommend(users, m, 5).items, again.recommend(users, m, 5).items)
    history = np.array([[int(m[0].indices[0]), int(m[0].indices[-1]), -1]])
    items = model.recommend(np.array([0]), m, 3).items
    weights = model.contributions(history, items)  # (1, 3 history slots, 3 items)
    assert weights.shape == (1, 3, 3) and np.isneginf(weights[0, 2]).all()  # padding contributes nothing
    assert np.allclose(
        weights[0, 0, 0],
        model.weights_[np.searchsorted(model.items_, history[0, 0]), np.searchsorted(model.items_, items[0, 0])],
    )


def test_hybrid_weight_zero_is_als_and_weight_one_orders_candidates_by_popularity():
    m = random_binary(users=150, items=60, density=0.1, seed=3)
    als = ALS({"factors": 8, "iterations": 10}, seed=1).fit(m)
    users = np.arange(150)
    plain = als.recommend(users, m, 10)
    same = HybridALS.from_als(als, {"factors": 8, "iterations": 10, "weight": 0.0}, m, None).recommend(users, m, 10)
    assert np.array_equal(same.items, plain.items)
    popular = HybridALS.from_als(als, {"factors": 8, "iterations": 10, "weight": 1.0, "candidates": 10}, m, None)
    pool = als.recommend(users, m, 10)
    top = popular.rerank(TopN(pool.items, pool.scores), 10)
    counts = np.asarray(m.sum(axis=0)).ravel()
    for row_items, row_pool in zip(top.items, pool.items):
        assert sorted(row_items.tolist()) == sorted(row_pool.tolist())  # the same candidates, re-ordered
        assert np.all(np.diff(counts[row_items]) <= 0)  # most popular first


def test_als_fit_more_continues_where_fit_stopped():
    m = random_binary(users=80, items=30, density=0.2, seed=4)
    stepped = ALS({"factors": 6, "iterations": 5}, seed=7).fit(m).fit_more(m, 5)
    straight = ALS({"factors": 6, "iterations": 10}, seed=7).fit(m)
    assert stepped.params.iterations == 10
    assert np.allclose(stepped.item_factors, straight.item_factors, atol=1e-5)
