"""Dense products run with BLAS pinned to one thread (recommender.threads)."""

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from recommender.models import DiverseALS, TopN
from recommender.models import diverse as diverse_module


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_the_diverse_rerank_runs_its_products_on_one_blas_thread(monkeypatch):
    seen = []
    real = diverse_module.mmr_rerank

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(diverse_module, "mmr_rerank", spy)
    rng = np.random.default_rng(0)
    matrix = sp.random(40, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    matrix.data[:] = 1.0
    model = DiverseALS({"factors": 4, "iterations": 2, "lam": 0.5, "candidates": 10}).fit(matrix)
    pool = TopN(rng.permutation(30)[None, :10].repeat(3, 0).astype(np.int32), np.ones((3, 10), np.float32))
    model.rerank(pool, 5)
    assert seen and all(threads <= {1} for threads in seen)
