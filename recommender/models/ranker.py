"""Two-stage recommendation: the union of several models' top-N as candidates, re-ranked by a
LightGBM ``lambdarank`` model over the candidates' features (the sources' scores and ranks,
and the feature store's user, movie and pair features).

The feature store is the warehouse's, so the model takes a ``features`` callable
``(user rows, item indices) -> (n, f)`` from its caller instead of reading SQL itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.models.als import ALS
from recommender.models.base import ModelError, Params, Recommender, TopN, load_arrays
from recommender.models.itemknn import ItemKNN
from recommender.names import RANKER
from recommender.warehouse.features import FEATURE_NAMES

#: Users ranked at once: bounds the candidates' feature matrix (1,024 x 400 pairs x 27 features).
RANK_USERS = 1024
#: The candidate sources, in feature order.
SOURCES = ("als", "itemknn", "ease", "popular")
#: The sequence features compare a candidate with the user's newest 1, 5 and 20 positives.
SEQUENCE_DEPTHS = (1, 5, 20)
#: Their names, in feature order: ItemKNN's stored cosine (co-occurrence), then ALS's factor cosine.
SEQUENCE_FEATURES = tuple(f"{kind}_last_{d}" for kind in ("cooccurrence", "als_cosine") for d in SEQUENCE_DEPTHS)
#: The features the served ranker's booster must have been trained on, in order.
RANKER_FEATURES = (
    tuple(f"{name}_{what}" for name in SOURCES for what in ("score", "rank")) + FEATURE_NAMES + SEQUENCE_FEATURES
)


@dataclass(frozen=True)
class RankerParams(Params):
    #: Candidates taken from each source per user.
    candidates: int = 100
    #: LightGBM boosting rounds and leaves.
    rounds: int = 200
    leaves: int = 31
    learning_rate: float = 0.05

    def __post_init__(self) -> None:
        if self.candidates < 1 or self.rounds < 1 or self.leaves < 2 or self.learning_rate <= 0:
            raise ValueError("candidates, rounds >= 1, leaves >= 2, learning_rate > 0")


def candidate_pool(
    sources: Mapping[str, Recommender], users: np.ndarray, history: sp.csr_matrix, exclude: sp.csr_matrix, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, item, source features) of the union of each source's top-n per user: ``row`` indexes
    ``users``; the source features are each source's score and rank (NaN / n + 1 where it did
    not propose the item), in SOURCES order, so (n_pairs, 2 * len(SOURCES))."""
    lists = {name: sources[name].recommend(users, history, n, exclude) for name in SOURCES if name in sources}
    rows = np.concatenate([np.repeat(np.arange(len(users)), top.items.shape[1]) for top in lists.values()])
    items = np.concatenate([top.items.ravel() for top in lists.values()])
    keep = items >= 0
    pairs = np.unique(rows[keep].astype(np.int64) * (1 << 32) + items[keep])
    row, item = (pairs >> 32).astype(np.int64), (pairs & 0xFFFFFFFF).astype(np.int64)
    features = np.full((len(pairs), 2 * len(SOURCES)), np.nan, dtype=np.float32)
    features[:, 1::2] = n + 1
    for s, name in enumerate(SOURCES):
        if name not in lists:
            continue
        top = lists[name]
        r = np.repeat(np.arange(len(users)), top.items.shape[1])
        i, score = top.items.ravel(), top.scores.ravel()
        rank = np.tile(np.arange(1, top.items.shape[1] + 1), len(users))
        ok = i >= 0
        where = np.searchsorted(pairs, r[ok].astype(np.int64) * (1 << 32) + i[ok])
        features[where, 2 * s] = score[ok]
        features[where, 2 * s + 1] = rank[ok]
    return row, item, features


def sequence_features(
    sources: Mapping[str, Recommender], recent: np.ndarray, row: np.ndarray, item: np.ndarray
) -> np.ndarray:
    """(n_pairs, len(SEQUENCE_FEATURES)) float32: each candidate ``item[j]``'s mean similarity to
    the newest 1, 5 and 20 positives of its user ``row[j]`` (``recent``: (n_users, >= 20) item
    indices, newest first, -1 padded): ItemKNN's stored cosine of the positive towards the
    candidate (0 where it is not among the positive's neighbours), then the cosine of their ALS
    item factors. NaN where the user has no positive."""
    depth = max(SEQUENCE_DEPTHS)
    recent = np.asarray(recent)[:, :depth]
    if recent.shape[1] < depth:
        recent = np.pad(recent, ((0, 0), (0, depth - recent.shape[1])), constant_values=-1)
    valid = recent >= 0
    seen = np.cumsum(valid, axis=1).astype(np.float32)  # positives among the newest d, for every d
    out = np.full((len(row), len(SEQUENCE_FEATURES)), np.nan, dtype=np.float32)
    if not len(row):
        return out
    knn, als = sources["itemknn"], sources["als"]
    if not isinstance(knn, ItemKNN) or not isinstance(als, ALS):
        raise ModelError("ranker: its itemknn and als sources must be ItemKNN and ALS models")
    # ItemKNN: one lookup per (pair, positive); cumulative sums give every depth at once
    votes = knn.similarity_between(np.maximum(recent[row], 0), np.broadcast_to(item[:, None], (len(row), depth)))
    votes = np.cumsum(np.where(valid[row], votes, np.float32(0)), axis=1)
    # ALS: the mean of the positives' unit vectors, per user, then one dot product per pair
    unit = als.unit_item_factors()
    vectors = np.where(valid[:, :, None], unit[np.maximum(recent, 0)], np.float32(0)).cumsum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # no positive: 0 / 0, NaN
        for at, d in enumerate(SEQUENCE_DEPTHS):
            count = seen[:, d - 1]
            out[:, at] = votes[:, d - 1] / count[row]
            mean = vectors[:, d - 1] / count[:, None]
            out[:, len(SEQUENCE_DEPTHS) + at] = np.einsum("ij,ij->i", unit[item], mean[row])
    return out


def pair_inputs(
    sources: Mapping[str, Recommender],
    users: np.ndarray,
    row: np.ndarray,
    item: np.ndarray,
    source_features: np.ndarray,
    features: Callable[[np.ndarray, np.ndarray], np.ndarray],
    recent: np.ndarray,
) -> np.ndarray:
    """The booster's input for candidate pairs (``row`` indexes ``users``, history rows):
    the sources' scores and ranks, the feature store's features (``features(user rows,
    items)``), then the sequence features (``recent``: newest positives of every history row)."""
    return np.hstack([
        source_features, features(users[row], item), sequence_features(sources, recent[users], row, item)
    ])  # fmt: skip


class TwoStageRanker(Recommender):
    name = RANKER
    Params = RankerParams
    params: RankerParams
    candidates_filter = "exclude"  # every source already leaves out the excluded items

    def __init__(self, params=None, *, seed: int = 42) -> None:
        super().__init__(params, seed=seed)
        self.sources: dict[str, Recommender] = {}
        self.booster: Any = None  # a lightgbm.Booster once attached or loaded (lightgbm loads lazily)
        self.features: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
        self.recent: np.ndarray | None = None
        #: LightGBM's threads per call: one when serving (requests run side by side), the
        #: job's for a batch that runs alone (a version's precomputed lists).
        self.threads = 1

    def attach(self, sources: Mapping[str, Recommender], booster, features, recent: np.ndarray) -> TwoStageRanker:
        """Serve with these fitted sources, a trained booster, a feature reader and the newest
        positives of every row of the history it will rank for ((rows, >= 20) item indices,
        newest first, -1 padded: ``recent_history``)."""
        self.sources, self.booster, self.features, self.recent = dict(sources), booster, features, recent
        self.n_items = next(iter(sources.values())).n_items
        return self

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> TwoStageRanker:
        raise ModelError("ranker: trained by recommender.jobs.two_stage (it needs labels and the feature store)")

    def recommend(
        self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> TopN:
        self._require_fitted()
        users = np.asarray(users, dtype=np.int64)
        exclude = user_items if exclude is None else exclude
        parts = [
            self._rank(users[s : s + RANK_USERS], user_items, k, exclude) for s in range(0, len(users), RANK_USERS)
        ]  # fmt: skip
        if not parts:
            return TopN(np.full((0, k), -1, np.int32), np.full((0, k), np.nan, np.float32))
        return TopN(np.vstack([p.items for p in parts]), np.vstack([p.scores for p in parts]))

    def recommend_explained(
        self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> tuple[TopN, np.ndarray]:
        """``recommend``'s lists and, for every entry, the name of the feature that raised its
        score most (LightGBM's SHAP contributions), "" where there is no entry."""
        self._require_fitted()
        users = np.asarray(users, dtype=np.int64)
        exclude = user_items if exclude is None else exclude
        parts = [
            self._rank(users[s : s + RANK_USERS], user_items, k, exclude, explain=True)
            for s in range(0, len(users), RANK_USERS)
        ]
        top = TopN(np.vstack([p[0].items for p in parts]), np.vstack([p[0].scores for p in parts]))
        return top, np.vstack([p[1] for p in parts])

    def explain(self, users, items, history, recent, ranked_by=None):
        """The reason the source named by each entry's top feature (``ranked_by``: a source's
        score or rank) proposes for it; none for an entry raised most by a feature-store
        feature, and none at all without ``ranked_by``."""
        proposed = np.full(np.shape(items), -1, dtype=np.int32)
        if ranked_by is None:
            return proposed
        names = np.asarray(ranked_by).astype(str)
        for name in SOURCES:
            picked = np.char.startswith(names, f"{name}_")
            if picked.any():
                proposed[picked] = self.sources[name].explain(users, items, history, recent)[picked]
        return proposed

    def _rank(self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix, explain=False):
        if self.features is None or self.recent is None:
            raise ModelError("ranker: attach() its sources, booster and feature reader first")
        row, item, source_features = candidate_pool(self.sources, users, user_items, exclude, self.params.candidates)
        x = pair_inputs(self.sources, users, row, item, source_features, self.features, self.recent)
        score = (
            self.booster.predict(x, num_threads=self.threads).astype(np.float32) if len(x) else np.zeros(0, np.float32)
        )
        # per user, best first: sort by (row, -score); rows are already grouped by np.unique
        order = np.lexsort((-score, row))
        row, item, score = row[order], item[order], score[order]
        starts = np.searchsorted(row, np.arange(len(users)))
        position = np.arange(len(row)) - starts[row]
        keep = position < k
        items = np.full((len(users), k), -1, dtype=np.int32)
        scores = np.full((len(users), k), np.nan, dtype=np.float32)
        items[row[keep], position[keep]] = item[keep]
        scores[row[keep], position[keep]] = score[keep]
        if not explain:
            return TopN(items, scores)
        names = np.asarray([*self.booster.feature_name(), ""], dtype=np.object_)
        top_feature = np.full((len(users), k), len(names) - 1, dtype=np.int64)
        if keep.any():
            kept = x[order][keep]
            contributions = self.booster.predict(kept, num_threads=self.threads, pred_contrib=True)[
                :, :-1
            ]  # last: bias
            top_feature[row[keep], position[keep]] = np.argmax(contributions, axis=1)
        return TopN(items, scores), names[top_feature]

    def _candidates(self, users, history, n, exclude):  # pragma: no cover - recommend() is overridden
        raise NotImplementedError

    def _arrays(self) -> dict[str, np.ndarray]:
        """The booster as LightGBM's own text format (no pickle); the sources are their own runs."""
        return {
            "booster": np.frombuffer(self.booster.model_to_string().encode(), dtype=np.uint8),
            "sources": np.array(list(self.sources)),
        }

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        import lightgbm

        self.booster = lightgbm.Booster(model_str=bytes(arrays["booster"]).decode())


def load_ranker(path: Path) -> TwoStageRanker:
    """The trained ranker of an artifact (attach its sources and a feature reader to serve it);
    ModelError when its booster was trained on other features than RANKER_FEATURES (by older
    code: it would fail on every list)."""
    meta, arrays = load_arrays(path)
    ranker = TwoStageRanker(meta["params"], seed=meta["seed"])
    ranker._restore(arrays)
    if list(ranker.booster.feature_name()) != list(RANKER_FEATURES):
        raise ModelError(f"{path}: its booster was trained on other features than this code's; `recsys run` trains one")
    return ranker
