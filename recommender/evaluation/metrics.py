"""Ranking and list metrics: one function each, vectorised over users (no per-user loop).

Shared inputs
-------------
``hits``: (n_users, k) bool, ``hits[u, j]`` = the j-th recommended item of user u is relevant
(padding ``-1`` is never a hit). ``n_relevant``: (n_users,) relevant items per user in the
evaluated part. Callers evaluate only users with ``n_relevant >= 1``; a user without
relevant items has no defined recall / NDCG, so such users are left out, never counted as 0.

Each per-user metric returns a float64 array; the reported value is its mean over users.

Definitions at cut-off K (positions j = 1..K)
---------------------------------------------
- precision@K = hits / K  (a short list is still divided by K)
- recall@K    = hits / |relevant|
- ndcg@K      = sum_j hit_j / log2(j + 1)  divided by the ideal  sum_{j <= min(K, |relevant|)} 1 / log2(j + 1)
- map@K       = sum_j hit_j * precision@j / min(K, |relevant|)
- mrr@K       = 1 / (position of the first hit), 0 without a hit
- hit_rate@K  = 1 if any hit else 0
ndcg and map coincide with ``implicit.evaluation.ranking_metrics_at_k``; implicit's
"precision" is sum(hits) / sum(min(K, |relevant|)) over all users (see ``implicit_precision``).

List metrics
------------
- coverage@K  = distinct recommended items / catalogue size (one number, not per user)
- diversity@K = intra-list diversity, 1 - mean pairwise cosine similarity of the list's item
  vectors (lists with fewer than 2 items are left out)
- novelty@K   = mean self-information -log2(p_i) of the list's items, p_i = share of train users
  who interacted with item i (higher: less popular items)
- popularity@K = mean number of train users who interacted with the list's items
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.sparse import csr_contains

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")
LIST_METRICS = ("coverage", "diversity", "novelty", "popularity")
ALL_METRICS = RANKING_METRICS + LIST_METRICS


def hit_matrix(items: np.ndarray, truth: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """(n, k) bool: ``items[r, j]`` is stored in ``truth[rows[r]]``."""
    return csr_contains(truth, np.asarray(rows)[:, None], items)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def precision(hits: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / k


def recall(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / n_relevant


def ndcg(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    disc = _discounts(k)
    dcg = (hits[:, :k] * disc[: hits[:, :k].shape[1]]).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_relevant, k)]
    return dcg / ideal


def average_precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    h = hits[:, :k].astype(np.float64)
    precision_at_j = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1)
    return (precision_at_j * h).sum(axis=1) / np.minimum(n_relevant, k)


def reciprocal_rank(hits: np.ndarray, k: int) -> np.ndarray:
    h = hits[:, :k]
    first = np.argmax(h, axis=1)
    return np.asarray(np.where(h.any(axis=1), 1.0 / (first + 1), 0.0))


def hit_rate(hits: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(hits[:, :k].any(axis=1), dtype=np.float64)


def implicit_precision(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """implicit's 'precision': all hits over all min(K, |relevant|) (micro-averaged)."""
    return float(hits[:, :k].sum() / np.minimum(n_relevant, k).sum())


def coverage(items: np.ndarray, n_items: int, k: int) -> float:
    top = items[:, :k]
    return len(np.unique(top[top >= 0])) / n_items


def intra_list_diversity(items: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """Per user; ``vectors`` (n_items, d) are L2-normalised (zero rows: similarity 0)."""
    top = items[:, :k]
    valid = top >= 0
    v = vectors[np.where(valid, top, 0)] * valid[:, :, None]
    sim = np.einsum("ukd,ujd->ukj", v, v)
    n = valid.sum(axis=1)
    pair_sum = sim.sum(axis=(1, 2)) - np.einsum("ukk->u", sim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, 1.0 - pair_sum / (n * (n - 1)), np.nan)


def novelty(items: np.ndarray, item_user_counts: np.ndarray, n_users: int, k: int) -> np.ndarray:
    """Per user, mean -log2(share of train users who interacted with the item)."""
    top = items[:, :k]
    valid = top >= 0
    share = np.maximum(item_user_counts[np.where(valid, top, 0)], 1) / n_users
    info = np.where(valid, -np.log2(share), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid.any(axis=1), info.sum(axis=1) / valid.sum(axis=1), np.nan)


def mean_popularity(items: np.ndarray, item_user_counts: np.ndarray, k: int) -> np.ndarray:
    """Per user, the mean number of train users who interacted with each listed item."""
    top = items[:, :k]
    valid = top >= 0
    counts = np.where(valid, item_user_counts[np.where(valid, top, 0)], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid.any(axis=1), counts.sum(axis=1) / valid.sum(axis=1), np.nan)


def overlap(items: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """Per user (row), how many of ``items``' top-k are also in ``other``'s top-k."""
    a, b = items[:, :k], other[:, :k]
    same = (a[:, :, None] == b[:, None, :]) & (a[:, :, None] >= 0)
    return same.any(axis=2).sum(axis=1)


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
