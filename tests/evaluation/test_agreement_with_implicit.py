"""Our vectorised metrics agree with implicit's own loop where the definitions coincide."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.evaluation import ranking_metrics_at_k

from recommender.evaluation import metrics as M
from recommender.models import ALS
from recommender.sparse import row_lengths


@pytest.mark.parametrize("k", [5, 10])
def test_ndcg_map_precision_match_implicit(k):
    rng = np.random.default_rng(7)
    dense = (rng.random((120, 60)) < 0.12).astype(np.float32)
    held_out = (rng.random(dense.shape) < 0.25) & (dense > 0)
    train = sp.csr_matrix(np.where(held_out, 0, dense).astype(np.float32))
    test = sp.csr_matrix(held_out.astype(np.float32))
    model = ALS({"factors": 8, "iterations": 8}, seed=0).fit(train)

    theirs = ranking_metrics_at_k(model.model_, train, test, K=k, show_progress=False)

    users = np.flatnonzero(row_lengths(test) > 0)
    top = model.recommend(users, train, k)
    hits = M.hit_matrix(top.items, test, users)
    n_rel = row_lengths(test)[users]
    assert M.ndcg(hits, n_rel, k).mean() == pytest.approx(theirs["ndcg"], rel=1e-6)
    assert M.average_precision(hits, n_rel, k).mean() == pytest.approx(theirs["map"], rel=1e-6)
    assert M.implicit_precision(hits, n_rel, k) == pytest.approx(theirs["precision"], rel=1e-6)
