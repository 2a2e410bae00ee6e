"""What the re-rankers of ALS (diverse, hybrid) share: their ALS part, its candidate pool,
and the one recommend path (ALS's top-``pool_size(k)``, then ``rerank``)."""

from __future__ import annotations

import copy
from abc import abstractmethod
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp

from recommender.models.als import ALS, ALSParams
from recommender.models.base import ModelError, Recommender, TopN


@dataclass(frozen=True)
class RerankedParams(ALSParams):
    #: ALS candidates re-ranked per user.
    candidates: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.candidates < 1:
            raise ValueError("candidates must be >= 1")

    def als_params(self) -> ALSParams:
        return ALSParams(**{f.name: getattr(self, f.name) for f in fields(ALSParams)})


class RerankedALS(Recommender):
    """An ALS model (``als``) whose lists are re-ranked; subclasses implement ``rerank``."""

    params: RerankedParams

    def __init__(self, params=None, *, seed: int = 42) -> None:
        super().__init__(params, seed=seed)
        self.als: ALS | None = None

    @property
    def base(self) -> ALS:
        """The fitted ALS this model re-ranks."""
        if self.als is None:
            raise ModelError(f"{self.name}: fit() or load() first")
        return self.als

    def _check_als(self, als: ALS) -> None:
        if self.params.als_params() != als.params:
            raise ModelError(f"{self.name}: the ALS model was fitted with other parameters")

    def for_user(self, row: int, history: sp.csr_matrix) -> RerankedALS:
        """This re-ranker over ``ALS.for_user``: a view for one user (index 0)."""
        self._require_fitted()
        view = copy.copy(self)
        view.als = self.base.for_user(row, history)
        return view

    def explain(self, users, items, history, recent, ranked_by=None):
        """ALS's reasons: the re-ranker re-orders ALS's candidates, which ALS's factors explain."""
        return self.base.explain(users, items, history, recent)

    def similar_items(self, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.base.similar_items(items, n)

    def pool_of(self) -> ALS:
        return self.base

    def pool_size(self, k: int) -> int:
        return max(k, self.params.candidates)

    def share(self, other: Recommender) -> None:
        """Read ``other`` as this model's ALS when it holds the same factors (a served
        version keeps one production ALS in memory, not one per re-ranker)."""
        mine = self.als
        if isinstance(other, ALS) and mine is not None and mine.n_items == other.n_items:
            if np.array_equal(mine.item_factors, other.item_factors) and np.array_equal(
                mine.user_factors, other.user_factors
            ):
                self.als = other

    def prepare(self) -> None:
        self.base.prepare()

    def recommend(
        self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> TopN:
        self._require_fitted()
        return self.rerank(shared_pool(self.base, users, user_items, exclude, self.pool_size(k)), k)

    @abstractmethod
    def rerank(self, pool: TopN, k: int) -> TopN:
        """k items per row from ALS's top-``pool_size(k)`` lists (one row per user, best first)."""

    def _candidates(self, users, history, n, exclude):  # pragma: no cover - recommend() is overridden
        return self.base._candidates(users, history, n, exclude)


def shared_pool(als: ALS, users: np.ndarray, user_items: sp.csr_matrix, exclude: sp.csr_matrix | None, n: int) -> TopN:
    """ALS's top-n for these inputs; the re-rankers built on one ALS fit (diverse and hybrid,
    evaluated one after the other on the same users) share it instead of scoring everyone
    twice. The last pool is kept on the ALS object with the inputs it was made from (held, so
    their ids cannot be reused), and a request for as many or fewer reads its prefix."""
    users = np.asarray(users)
    last = als._last_pool
    if (
        last is not None
        and last[0] is user_items
        and last[1] is exclude
        and last[3] >= n
        and np.array_equal(last[2], users)
    ):
        pool = last[4]
        return TopN(pool.items[:, :n], pool.scores[:, :n])
    pool = als.recommend(users, user_items, n, exclude)
    als._last_pool = (user_items, exclude, users.copy(), n, pool)
    return pool
