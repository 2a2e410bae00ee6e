"""The lists users get: a model's top-N, topped up with popular unseen items when the model
has fewer than N to offer (ItemKNN with a thin neighbourhood). Evaluation and precompute
both call ``served_lists``, so the evaluated lists are exactly the served ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.models import Popular, Recommender, TopN
from recommender.models.base import compact, first_occurrence
from recommender.sparse import row_lengths


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


def served_lists(
    model: Recommender,
    users: np.ndarray,
    history: sp.csr_matrix,
    k: int,
    fallback: Popular,
    top: TopN | None = None,
    exclude: sp.csr_matrix | None = None,
) -> ServedLists:
    """Each user's top-k from ``model`` scored on ``history``, never an item in ``exclude``
    (default ``history``), topped up with the most popular items left.

    A user with an empty history row (rated, but nothing at or above the threshold) has
    nothing for a model to go on: their whole list is the top-up.
    ``top``: the model's lists when the caller already has them (else they are computed).
    """
    users = np.asarray(users)
    top = model.recommend(users, history, k, exclude) if top is None else top
    empty = row_lengths(history)[users] == 0
    if empty.any():
        top = TopN(
            np.where(empty[:, None], -1, top.items).astype(np.int32),
            np.where(empty[:, None], np.nan, top.scores).astype(np.float32),
        )
    short = (top.items < 0).any(axis=1)
    filled = np.zeros(top.items.shape, dtype=bool)
    if not short.any():
        return ServedLists(top.items, top.scores, filled)
    rows = np.flatnonzero(short)
    extra = fallback.recommend(users[rows], history, k, exclude)
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
