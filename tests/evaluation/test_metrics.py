"""Hand-computed cases for every metric, bounds for all inputs, agreement with implicit."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recommender.evaluation import metrics as M

# One user, list [a, b, c, d], relevant = {b, d, x} (x never recommended): hits at 2 and 4.
HITS = np.array([[False, True, False, True]])
N_REL = np.array([3])


def test_hand_computed_single_user():
    assert M.precision(HITS, 4)[0] == pytest.approx(2 / 4)
    assert M.precision(HITS, 2)[0] == pytest.approx(1 / 2)
    assert M.recall(HITS, N_REL, 4)[0] == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert M.ndcg(HITS, N_REL, 4)[0] == pytest.approx(dcg / idcg)
    assert M.average_precision(HITS, N_REL, 4)[0] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert M.reciprocal_rank(HITS, 4)[0] == pytest.approx(1 / 2)
    assert M.reciprocal_rank(HITS, 1)[0] == 0.0
    assert M.hit_rate(HITS, 1)[0] == 0.0 and M.hit_rate(HITS, 2)[0] == 1.0
    # ideal DCG is capped by K: with K=2 and 3 relevant items, the ideal is 1 + 1/log2(3)
    assert M.ndcg(HITS, N_REL, 2)[0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert M.average_precision(HITS, N_REL, 2)[0] == pytest.approx((1 / 2) / 2)


def test_list_metrics_by_hand():
    items = np.array([[0, 1, 2], [0, 1, -1]])
    assert M.coverage(items, n_items=10, k=3) == pytest.approx(3 / 10)
    vectors = M.normalise_rows(np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32))
    ild = M.intra_list_diversity(items, vectors, 3)
    # user 0: pairs (0,1)=1, (0,2)=0, (1,2)=0 -> mean 1/3 -> ILD 2/3; user 1: one pair, sim 1 -> 0
    assert ild[0] == pytest.approx(2 / 3) and ild[1] == pytest.approx(0.0)
    assert np.isnan(M.intra_list_diversity(np.array([[2, -1, -1]]), vectors, 3)[0])
    counts = np.array([8, 2, 1])
    nov = M.novelty(items, counts, n_users=8, k=3)
    assert nov[0] == pytest.approx(np.mean([0.0, 2.0, 3.0]))
    assert nov[1] == pytest.approx(1.0)


def test_hit_matrix_ignores_padding():
    truth = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32))
    items = np.array([[2, 1, -1], [1, 0, 2]])
    np.testing.assert_array_equal(
        M.hit_matrix(items, truth, np.array([0, 1])), [[True, False, False], [True, False, False]]
    )


hits_strategy = st.integers(1, 12).flatmap(
    lambda k: st.tuples(
        arrays(bool, st.tuples(st.integers(1, 20), st.just(k))),
        st.integers(0, 15),
    )
)


@settings(max_examples=200, deadline=None)
@given(hits_strategy, st.integers(1, 12))
def test_every_ranking_metric_is_within_0_and_1(data, k):
    hits, extra = data
    n_rel = hits.sum(axis=1) + extra  # at least the hits; may be more
    n_rel = np.maximum(n_rel, 1)
    for values in (
        M.precision(hits, k),
        M.recall(hits, n_rel, k),
        M.ndcg(hits, n_rel, k),
        M.average_precision(hits, n_rel, k),
        M.reciprocal_rank(hits, k),
        M.hit_rate(hits, k),
    ):
        assert ((values >= 0) & (values <= 1 + 1e-12)).all()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10), st.integers(1, 15))
def test_perfect_ranking_scores_one(k, n_rel):
    hits = np.zeros((1, k), bool)
    hits[0, : min(k, n_rel)] = True
    n = np.array([n_rel])
    assert M.ndcg(hits, n, k)[0] == pytest.approx(1.0)
    assert M.average_precision(hits, n, k)[0] == pytest.approx(1.0)
    assert M.reciprocal_rank(hits, k)[0] == 1.0
    if n_rel <= k:
        assert M.recall(hits, n, k)[0] == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 10), st.integers(1, 10))))
def test_average_precision_agrees_with_its_loop_definition(hits):
    n_rel = np.maximum(hits.sum(axis=1), 1) + 1
    k = hits.shape[1]
    fast = M.average_precision(hits, n_rel, k)
    for u in range(len(hits)):
        found, total = 0, 0.0
        for j in range(k):
            if hits[u, j]:
                found += 1
                total += found / (j + 1)
        assert fast[u] == pytest.approx(total / min(n_rel[u], k))
