"""ALS blended with popularity: ALS's candidates re-scored as

    (1 - weight) * relevance(item) + weight * popularity(item)

where relevance is the ALS score min-max normalised over the user's candidates (as in the
diverse re-ranker) and popularity is log(1 + count) / log(1 + max count) over the fit data,
counted over the last ``window_days`` when set (the popular model's rule). ``weight = 0``
returns exactly ALS's list; the weight is tuned on val, and the report says whether the
blend beats plain ALS there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from recommender.models.als import ALS
from recommender.models.base import FitInputs, TopN
from recommender.models.popular import Popular
from recommender.models.reranked import RerankedALS, RerankedParams


@dataclass(frozen=True)
class HybridParams(RerankedParams):
    #: Weight of popularity in the blend, 0..1 (0: ALS's own order).
    weight: float = 0.1
    #: Popularity counted over the last N days of the fit data (None: all of it).
    window_days: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError("weight must be within 0..1")
        if self.window_days is not None and self.window_days <= 0:
            raise ValueError("window_days must be positive or None")


class HybridALS(RerankedALS):
    name = "hybrid"
    Params = HybridParams
    params: HybridParams

    @classmethod
    def from_als(cls, als: ALS, params, user_items: sp.csr_matrix, times: sp.csr_matrix | None) -> HybridALS:
        """Blend an already fitted ALS (same ALS parameters) with the popularity of ``user_items``."""
        model = cls(params, seed=als.seed)
        model._check_als(als)
        model._attach(als, model._popularity(user_items, times))
        return model

    @classmethod
    def fit_from(cls, params, inputs: FitInputs) -> HybridALS:
        """A blend of the job's ALS of the same ALS parameters (fitted once for both) with the
        popularity of the same data."""
        als = inputs.fitted("als", HybridParams.from_dict(params).als_params().to_dict())
        return cls.from_als(cast(ALS, als), params, inputs.matrix(), inputs.times())

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> HybridALS:
        als = ALS(self.params.als_params(), seed=self.seed).using_threads(self.threads).fit(user_items)
        self._attach(als, self._popularity(user_items, times))
        return self

    def _popularity(self, user_items: sp.csr_matrix, times: sp.csr_matrix | None) -> np.ndarray:
        counts = Popular({"window_days": self.params.window_days}).fit(user_items, times=times).scores_
        return (np.log1p(counts) / np.log1p(max(float(counts.max(initial=0.0)), 1.0))).astype(np.float32)

    def _attach(self, als: ALS, popularity: np.ndarray) -> None:
        self.als, self.popularity_ = als, popularity
        self.n_items = als.n_items

    def rerank(self, pool: TopN, k: int) -> TopN:
        """Re-score ALS's top-``pool_size(k)`` (one row per user, best first) and keep the best k."""
        valid = pool.items >= 0
        rel = np.where(valid, pool.scores, np.nan).astype(np.float64)
        lo = np.nanmin(np.where(valid, rel, np.inf), axis=1, keepdims=True)
        hi = np.nanmax(np.where(valid, rel, -np.inf), axis=1, keepdims=True)
        rel = np.where(valid, (rel - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
        blend = (1.0 - self.params.weight) * rel + self.params.weight * self.popularity_[np.maximum(pool.items, 0)]
        blend = np.where(valid, blend, -np.inf)
        order = np.argsort(-blend, axis=1, kind="stable")[:, :k]  # ties keep ALS's order
        items = np.take_along_axis(np.where(valid, pool.items, -1), order, axis=1).astype(np.int32)
        scores = np.take_along_axis(blend, order, axis=1)
        scores = np.where(items >= 0, scores, np.nan).astype(np.float32)
        if items.shape[1] < k:
            pad = k - items.shape[1]
            items = np.pad(items, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=np.nan)
        return TopN(items, scores)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**self.base._arrays(), "popularity": self.popularity_}

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        als = ALS(self.params.als_params(), seed=self.seed)
        als._restore(arrays)
        self._attach(als, np.asarray(arrays["popularity"], dtype=np.float32))
