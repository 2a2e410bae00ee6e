"""ALS re-ranked for discovery: greedy maximal marginal relevance with a popularity penalty.

For each user, take ALS's top-``candidates`` unseen items; then pick k of them one at a
time, each maximising

    (1 - lam) * relevance(item) - lam * max_{picked p} similarity(item, p)
        - popularity * popularity(item)

where relevance is the ALS score min-max normalised over the user's candidates (so lam
means the same for every user), similarity is the cosine of ALS item factors, or of genre
vectors, and popularity(item) is log(1 + the item's positives in the training data) scaled
to 0..1 over the catalogue. ``lam = 0, popularity = 0`` returns exactly ALS's list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from recommender.models.als import ALS
from recommender.models.base import FitInputs, ModelError, TopN
from recommender.models.reranked import RerankedALS, RerankedParams
from recommender.sparse import column_counts
from recommender.threads import single_threaded_blas

#: Candidate pairs per MMR batch: bounds the (batch, candidates, candidates) float32 similarity
#: tensor (~40 MB: 1,024 users at 100 candidates, 256 at 200).
MMR_PAIRS = 1024 * 100 * 100

SIMILARITIES = ("factors", "genres")


@dataclass(frozen=True)
class DiverseParams(RerankedParams):
    #: Trade-off: 0 = pure relevance (ALS), 1 = pure dissimilarity.
    lam: float = 0.3
    #: ``factors`` (cosine of ALS item factors) or ``genres`` (cosine of genre vectors).
    similarity: str = "factors"
    #: Penalty on a candidate's popularity (log positives, scaled 0..1): 0 ignores it.
    popularity: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError("lam must be within 0..1")
        if self.popularity < 0:
            raise ValueError("popularity must be >= 0")
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}")


class DiverseALS(RerankedALS):
    name = "diverse"
    Params = DiverseParams
    params: DiverseParams

    def __init__(
        self,
        params=None,
        *,
        seed: int = 42,
        item_genres: sp.csr_matrix | None = None,
        item_counts: np.ndarray | None = None,
    ) -> None:
        super().__init__(params, seed=seed)
        #: (n_items, n_genres) multi-hot, needed when similarity = "genres".
        self.item_genres = item_genres
        #: (n_items,) positives per item in the training data: what popularity penalises.
        self.item_counts = item_counts

    @classmethod
    def from_als(cls, als: ALS, params=None, *, item_genres=None, item_counts=None) -> DiverseALS:
        """Re-rank an already fitted ALS (its parameters must match ``params``'s ALS part;
        ``item_counts``: the positives per item of the data it was fitted on)."""
        model = cls(params, seed=als.seed, item_genres=item_genres, item_counts=item_counts)
        model._check_als(als)
        model._attach(als)
        return model

    @classmethod
    def fit_from(cls, params, inputs: FitInputs) -> DiverseALS:
        """A re-ranking of the job's ALS of the same ALS parameters (fitted once for both)."""
        als = inputs.fitted("als", DiverseParams.from_dict(params).als_params().to_dict())
        counts = column_counts(sp.csr_matrix(inputs.matrix()))
        return cls.from_als(cast(ALS, als), params, item_genres=inputs.extra("item_genres"), item_counts=counts)

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> DiverseALS:
        self.item_counts = column_counts(sp.csr_matrix(user_items))
        self._attach(ALS(self.params.als_params(), seed=self.seed).using_threads(self.threads).fit(user_items))
        return self

    def _attach(self, als: ALS) -> None:
        self.als = als
        self.n_items = als.n_items
        if self.params.similarity == "genres":
            if self.item_genres is None or self.item_genres.shape[0] != als.n_items:
                raise ModelError("diverse: similarity='genres' needs item_genres with one row per item")
            vectors = np.asarray(self.item_genres.todense(), dtype=np.float32)
        else:
            vectors = als.item_factors.astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors_ = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        if self.params.popularity > 0 and self.item_counts is None:
            raise ModelError("diverse: a popularity penalty needs item_counts (the training positives per item)")
        self.popularity_ = popularity_scale(self.item_counts, self.vectors_.shape[0])

    def rerank(self, pool: TopN, k: int) -> TopN:
        """Greedy MMR over ALS's top-``pool_size(k)`` lists (one row per user)."""
        items = np.full((len(pool.items), k), -1, dtype=np.int32)
        scores = np.full((len(pool.items), k), np.nan, dtype=np.float32)
        batch = max(1, MMR_PAIRS // max(1, pool.items.shape[1]) ** 2)
        with single_threaded_blas():  # the batched similarity products (see recommender.threads)
            for start in range(0, len(pool.items), batch):
                sl = slice(start, start + batch)
                items[sl], scores[sl] = mmr_rerank(
                    pool.items[sl], pool.scores[sl], self.vectors_, self.params.lam, k,
                    self.popularity_, self.params.popularity,
                )  # fmt: skip
        return TopN(items, scores)

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = self.base._arrays()
        if self.item_counts is not None:
            arrays["item_counts"] = np.asarray(self.item_counts, dtype=np.int64)
        if self.item_genres is not None:
            g = sp.csr_matrix(self.item_genres)
            arrays.update(
                genre_data=g.data, genre_indices=g.indices, genre_indptr=g.indptr, genre_shape=np.array(g.shape)
            )
        return arrays

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.item_counts = arrays.get("item_counts")
        if "genre_data" in arrays:
            self.item_genres = sp.csr_matrix(
                (arrays["genre_data"], arrays["genre_indices"], arrays["genre_indptr"]),
                shape=tuple(arrays["genre_shape"]),
            )
        als = ALS(self.params.als_params(), seed=self.seed)
        als._restore(arrays)
        self._attach(als)


def popularity_scale(item_counts: np.ndarray | None, n_items: int) -> np.ndarray:
    """(n_items,) log(1 + positives) scaled to 0..1 (zeros when the counts are unknown)."""
    if item_counts is None:
        return np.zeros(n_items)
    logged = np.log1p(np.asarray(item_counts, dtype=np.float64))
    top = logged.max(initial=0.0)
    return logged / top if top > 0 else logged


def mmr_rerank(
    cand: np.ndarray,
    rel_scores: np.ndarray,
    vectors: np.ndarray,
    lam: float,
    k: int,
    popularity: np.ndarray | None = None,
    popularity_weight: float = 0.0,
):
    """Greedy MMR over candidate lists.

    cand: (B, C) item indices best first, -1 = none; rel_scores: (B, C) with NaN for none;
    vectors: (n_items, d) L2-normalised; popularity: (n_items,) 0..1, penalised with
    ``popularity_weight``. Returns (items (B, k) int32, their original scores). Vectorised
    over users; the only loop is over the k picks.
    """
    n_users, n_cand = cand.shape
    valid = cand >= 0
    rel = np.where(valid, rel_scores, np.nan).astype(np.float64)
    lo, hi = (
        np.nanmin(np.where(valid, rel, np.inf), axis=1, keepdims=True),
        np.nanmax(np.where(valid, rel, -np.inf), axis=1, keepdims=True),
    )
    span = np.where(hi > lo, hi - lo, 1.0)
    rel = np.where(valid, (rel - lo) / span, 0.0)
    penalty: np.ndarray | float = 0.0
    if popularity is not None and popularity_weight > 0:
        penalty = popularity_weight * popularity[np.where(valid, cand, 0)]
    v = vectors[np.where(valid, cand, 0)]  # (B, C, d)
    sim = np.matmul(v, v.transpose(0, 2, 1))  # (B, C, C) cosine, on BLAS
    max_sim = np.zeros((n_users, n_cand))
    available = valid.copy()
    rows = np.arange(n_users)
    picked = np.full((n_users, k), -1, dtype=np.int64)
    for step in range(min(k, n_cand)):
        score = (1.0 - lam) * rel - lam * max_sim - penalty
        score[~available] = -np.inf
        choice = np.argmax(score, axis=1)  # ties: the earlier (more relevant) candidate
        ok = available[rows, choice]
        picked[:, step] = np.where(ok, choice, -1)
        available[rows, choice] = False
        max_sim = np.maximum(max_sim, sim[rows, choice, :])
    has = picked >= 0
    safe = np.where(has, picked, 0)
    items = np.where(has, cand[rows[:, None], safe], -1).astype(np.int32)
    scores = np.where(has, rel_scores[rows[:, None], safe], np.nan).astype(np.float32)
    return items, scores
