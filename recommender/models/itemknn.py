"""Item-based k-nearest-neighbours with cosine similarity (`implicit`'s CosineRecommender)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import CosineRecommender, NearestNeighboursScorer
from implicit.utils import ParameterWarning

from recommender.models._implicit import as_user_items, implicit_candidates
from recommender.models.base import Params, Recommender
from recommender.sparse import csr_contains


@dataclass(frozen=True)
class ItemKNNParams(Params):
    #: Neighbours kept per item.
    neighbours: int = 100

    def __post_init__(self) -> None:
        if self.neighbours < 1:
            raise ValueError("neighbours must be >= 1")


class ItemKNN(Recommender):
    name = "itemknn"
    Params = ItemKNNParams
    candidates_filter = "exclude"  # see _candidates: every excluded item rides along with weight 0

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> ItemKNN:
        # implicit >= 0.5 takes user x item: an item x user matrix here would silently
        # learn user-user similarities (a test guards this)
        self.model_ = CosineRecommender(K=self.params.neighbours)
        with warnings.catch_warnings():
            # implicit converts its own normalised copy to COO internally and warns about it
            warnings.filterwarnings("ignore", category=ParameterWarning, message=".*coo_matrix.*")
            self.model_.fit(as_user_items(user_items), show_progress=False)
        self.n_items = user_items.shape[1]
        return self

    def _candidates(self, users, history, n, exclude):
        """implicit scores a user from the rows it is given and filters those same items. Given
        every excluded item, the ones outside the history with weight 0, it scores from the
        history alone and filters all of them, in one pass and without over-fetching. An item
        reached only through a weight-0 item scores 0: never a neighbour's vote, so dropped."""
        if exclude is history:
            return implicit_candidates(self.model_, users, history, n)
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        weights = csr_contains(history, rows, exclude.indices).astype(np.float32)
        scoring = sp.csr_matrix((weights, exclude.indices, exclude.indptr), shape=exclude.shape)  # zeros kept
        ids, scores = implicit_candidates(self.model_, users, scoring, n)
        return np.where(scores > 0, ids, -1), scores

    def similar_items(self, item: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` most similar items to ``item`` (index space), itself excluded."""
        row = self.model_.similarity[item]
        order = np.argsort(-row.data, kind="stable")
        items, scores = row.indices[order], row.data[order]
        keep = items != item
        return items[keep][:n], scores[keep][:n]

    def _arrays(self) -> dict[str, np.ndarray]:
        sim = self.model_.similarity.tocsr()
        return {
            "sim_data": sim.data,
            "sim_indices": sim.indices,
            "sim_indptr": sim.indptr,
            "sim_shape": np.array(sim.shape),
        }

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.model_ = CosineRecommender(K=self.params.neighbours)
        self.model_.similarity = sp.csr_matrix(
            (arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=tuple(arrays["sim_shape"])
        )
        self.model_.scorer = NearestNeighboursScorer(self.model_.similarity)  # as implicit's own load()
        self.n_items = int(arrays["sim_shape"][0])
