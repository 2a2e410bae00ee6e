"""Popularity: the most-interacted items in train, optionally within a recent window.

Also the cold-start fallback of the serving layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.models.base import FitInputs, ModelError, Params, Recommender


@dataclass(frozen=True)
class PopularParams(Params):
    #: Count only interactions in the last N days before the newest train interaction (None: all).
    window_days: int | None = None

    def __post_init__(self) -> None:
        if self.window_days is not None and self.window_days <= 0:
            raise ValueError("window_days must be positive or None")


#: Batches of at most this many users filter their exclusions row by row (see _candidates).
FEW_USERS = 8


class Popular(Recommender):
    name = "popular"
    Params = PopularParams
    personal = False  # one ranking for everybody, each user's rated movies left out
    params: PopularParams
    search_space = {"window_days": [None, 30, 90, 180, 365, 730, 1825]}
    trials = 7

    @classmethod
    def fit_from(cls, params, inputs: FitInputs) -> Popular:
        """Fitted with the interaction times (its recency window)."""
        return cls(params, seed=inputs.seed).using_threads(inputs.threads).fit(inputs.matrix(), times=inputs.times())

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> Popular:
        counts = np.asarray((user_items > 0).sum(axis=0)).ravel().astype(np.float64)
        if self.params.window_days is not None:
            if times is None:
                raise ModelError("popular: window_days needs interaction times")
            newest = times.data.max() if times.nnz else 0.0
            recent = times.copy()
            recent.data = (recent.data >= newest - self.params.window_days * 86400).astype(np.float64)
            recent_counts = np.asarray(recent.sum(axis=0)).ravel()
            # recent count first; the all-time count only breaks ties
            counts = recent_counts + counts / (counts.max() + 1.0)
        self.scores_ = counts.astype(np.float32)
        # stable: equal scores rank by item index, so lists are deterministic
        self.ranking_ = np.argsort(-self.scores_, kind="stable").astype(np.int32)
        self.n_items = user_items.shape[1]
        return self

    def _candidates(self, users, history, n, exclude):
        if len(users) <= FEW_USERS:
            # a request: each row's own ranking minus its exclusions (a filter at request time may
            # exclude most of the catalogue, which over-fetching would sort whole, twice)
            items = np.full((len(users), n), -1, dtype=np.int64)
            for r in range(len(users)):
                keep = np.ones(self.n_items, dtype=bool)
                keep[exclude.indices[exclude.indptr[r] : exclude.indptr[r + 1]]] = False
                top = self.ranking_[keep[self.ranking_]][:n]
                items[r, : len(top)] = top
            scores = np.where(items >= 0, self.scores_[np.maximum(items, 0)], -np.inf)
            return items, scores
        # history-blind for many users at once: recommend() over-fetches and filters
        top = self.ranking_[:n]
        return np.broadcast_to(top, (len(users), len(top))), np.broadcast_to(self.scores_[top], (len(users), len(top)))

    scores_every_item = True

    def score_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """The popularity of every item, the same for every row (items no one liked score 0)."""
        return np.broadcast_to(self.scores_, (len(users), len(self.scores_)))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.scores_ = arrays["scores"]
        self.ranking_ = np.argsort(-self.scores_, kind="stable").astype(np.int32)
        self.n_items = len(self.scores_)
