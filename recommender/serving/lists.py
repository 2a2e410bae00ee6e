"""The lists users get: a model's top-N, topped up with popular unseen items when the model
has fewer than N to offer (ItemKNN with a thin neighbourhood). Evaluation and precompute
both call ``served_lists``, so the evaluated lists are exactly the served ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.models import Popular, Recommender, TopN
from recommender.models.base import compact, first_occurrence


@dataclass(frozen=True)
class ServedLists:
    """(n_users, k) item indices (-1: none), scores (NaN for filled/none), and which
    entries came from the popularity top-up rather than the model."""

    items: np.ndarray
    scores: np.ndarray
    filled: np.ndarray

    @property
    def k(self) -> int:
        return self.items.shape[1]


def popularity_fallback(history: sp.csr_matrix) -> Popular:
    """Most-interacted items of the history matrix (the same rule as the popular model)."""
    return Popular().fit(history)


def served_lists(model: Recommender, users: np.ndarray, history: sp.csr_matrix, k: int,
                 fallback: Popular, top: TopN | None = None) -> ServedLists:
    """``top``: the model's lists when the caller already has them (else they are computed)."""
    top = model.recommend(users, history, k) if top is None else top
    short = (top.items < 0).any(axis=1)
    filled = np.zeros(top.items.shape, dtype=bool)
    if not short.any():
        return ServedLists(top.items, top.scores, filled)
    rows = np.flatnonzero(short)
    extra = fallback.recommend(np.asarray(users)[rows], history, k)
    merged = np.concatenate([top.items[rows], extra.items], axis=1).astype(np.int64)
    merged_scores = np.concatenate([top.scores[rows], np.full(extra.scores.shape, np.nan, np.float32)], axis=1)
    from_fallback = np.concatenate([np.zeros(top.items[rows].shape, bool), np.ones(extra.items.shape, bool)], axis=1)
    valid = (merged >= 0) & first_occurrence(merged)
    items, scores = top.items.copy(), top.scores.copy()
    items[rows], scores[rows] = compact(merged, merged_scores, valid, k)
    # which of the kept entries came from the fallback: same compaction over the flags
    order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    filled[rows] = np.take_along_axis(from_fallback & valid, order, axis=1)
    return ServedLists(items, scores, filled)
