"""Scoring a fitted model on one part of a split: the same lists the API will serve."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recommender.evaluation import metrics as M
from recommender.lists.served import ServedLists, popularity_fallback, served_lists
from recommender.models import Recommender
from recommender.sparse import row_lengths
from recommender.warehouse.export import SplitData


@dataclass(frozen=True)
class ItemSpace:
    """What list metrics need about the items (index space of a SplitData).

    ``vectors``: (n_items, d) L2-normalised item descriptions for intra-list diversity
    (genre vectors by default: model-independent, so every model is judged alike).
    ``user_counts``: (n_items,) users per item in the history the model saw (for novelty).
    """

    vectors: np.ndarray
    user_counts: np.ndarray
    n_users: int


@dataclass(frozen=True)
class Evaluation:
    """Per-user metric values for the evaluated users, plus the lists themselves."""

    part: str
    ks: tuple[int, ...]
    user_index: np.ndarray  # (n,) row indices of the evaluated users
    user_ids: np.ndarray  # (n,) their MovieLens ids
    top: ServedLists  # (n, max(ks)) lists, index space: exactly what is served
    per_user: dict[tuple[str, int], np.ndarray] = field(repr=False)
    catalog: dict[tuple[str, int], float] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_index)

    def value(self, metric: str, k: int) -> float:
        if (metric, k) in self.catalog:
            return self.catalog[(metric, k)]
        values = self.per_user[(metric, k)]
        return float(np.nanmean(values)) if len(values) else float("nan")

    def summary(self) -> dict[tuple[str, int], float]:
        keys = list(self.per_user) + list(self.catalog)
        return {key: self.value(*key) for key in keys}


def item_space(history: sp.csr_matrix, item_genres: sp.csr_matrix) -> ItemSpace:
    counts = np.asarray((history > 0).sum(axis=0)).ravel()
    return ItemSpace(M.normalise_rows(item_genres.toarray()), counts, history.shape[0])


def evaluate(
    model: Recommender,
    data: SplitData,
    part: str,
    history_parts: tuple[str, ...],
    ks: tuple[int, ...],
    items: ItemSpace,
    *,
    exclude_rated: bool = True,
    max_users: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Recommend max(ks) items to every user with relevant items in ``part``, scored on what
    they had in ``history_parts`` and compute every metric at every k. ``max_users``: score a
    seeded sample of that many of them instead (for a model too costly to score everyone).

    ``exclude_rated``: leave out every movie the user had rated before ``part`` (the history
    positives and the sub-threshold ratings of those periods), as serving does; False:
    only the history positives (the protocol of LensKit's and implicit's examples)."""
    history = data.matrix(*history_parts)
    exclude = data.excluded(*history_parts) if exclude_rated else history
    truth = data.matrix(part)
    fallback = popularity_fallback(history)
    n_relevant_all = row_lengths(truth)
    users = scored_users(truth, max_users, seed)
    k_max = max(ks)
    started = time.perf_counter()
    top = served_lists(model, users, history, k_max, fallback, exclude=exclude)
    recommended = time.perf_counter()
    hits = M.hit_matrix(top.items, truth, users)
    n_relevant = n_relevant_all[users]
    per_user: dict[tuple[str, int], np.ndarray] = {}
    catalog: dict[tuple[str, int], float] = {}
    for k in ks:
        per_user[("precision", k)] = M.precision(hits, k)
        per_user[("recall", k)] = M.recall(hits, n_relevant, k)
        per_user[("ndcg", k)] = M.ndcg(hits, n_relevant, k)
        per_user[("map", k)] = M.average_precision(hits, n_relevant, k)
        per_user[("mrr", k)] = M.reciprocal_rank(hits, k)
        per_user[("hit_rate", k)] = M.hit_rate(hits, k)
        per_user[("diversity", k)] = M.intra_list_diversity(top.items, items.vectors, k)
        per_user[("novelty", k)] = M.novelty(top.items, items.user_counts, items.n_users, k)
        per_user[("popularity", k)] = M.mean_popularity(top.items, items.user_counts, k)
        catalog[("coverage", k)] = M.coverage(top.items, data.shape[1], k)
    timings = {"recommend_s": recommended - started, "metrics_s": time.perf_counter() - recommended}
    return Evaluation(part, tuple(ks), users, data.user_ids[users], top, per_user, catalog, timings)


def scored_users(truth: sp.csr_matrix, max_users: int | None, seed: int) -> np.ndarray:
    """The rows an evaluation scores: every user with a positive in ``truth``, or a seeded
    sample of ``max_users`` of them (sorted)."""
    users = np.flatnonzero(row_lengths(truth) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    return users
