"""Implicit-feedback matrix factorisation (`implicit`'s AlternatingLeastSquares)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from recommender.models._implicit import as_user_items, implicit_candidates, single_threaded_blas
from recommender.models.als_engines import ALSEngine
from recommender.models.base import FitInputs, ModelError, Params, Range, Recommender, top_similar

#: Users per batched product in ``explain`` (bounds the (batch, k, window) similarity tensor).
EXPLAIN_BATCH = 2048


@dataclass(frozen=True)
class ALSParams(Params):
    #: Latent dimensions.
    factors: int = 64
    #: L2 penalty on the factors.
    regularization: float = 0.05
    #: Confidence weight of a positive (implicit's alpha: C = alpha * r).
    alpha: float = 10.0
    #: Alternating sweeps.
    iterations: int = 15

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError("factors and iterations must be >= 1")
        if self.regularization < 0 or self.alpha <= 0:
            raise ValueError("regularization must be >= 0 and alpha > 0")


class ALS(Recommender):
    name = "als"
    Params = ALSParams
    params: ALSParams
    candidates_filter = "exclude"  # implicit's top-k filters whatever rows it is given
    search_space = {
        "factors": Range(16, 256, integer=True),
        # implicit weighs a positive alpha times an unobserved pair: below 1 it would trust
        # a positive less than a missing rating
        "alpha": Range(1.0, 100.0),
        # searched as a multiple of alpha (params_at): implicit's loss divided by alpha
        # depends on regularization / alpha, and the good region runs along that ratio
        "regularization_per_alpha": Range(1e-2, 30.0),
    }
    # three dimensions, with pruning and early stopping keeping each trial cheap; on a sample
    # of a larger split too (with 16 trials the 25M-shaped data's test NDCG@10 fell by 11 %)
    trials = 30

    def __init__(
        self, params: ALSParams | Mapping[str, Any] | None = None, *, seed: int = 42, engine: ALSEngine | None = None
    ) -> None:
        super().__init__(params, seed=seed)
        #: Where fit() computes the factors (implicit on the CPU unless told otherwise).
        self.engine = engine or ALSEngine()
        self._by_factor: np.ndarray | None = None  # made on first use (_factors_by_item)
        self._unit: np.ndarray | None = None  # made on first use (unit_item_factors)
        #: The last candidate pool (reranked.shared_pool): (user_items, exclude, users, n, TopN).
        self._last_pool: tuple | None = None

    @classmethod
    def params_at(cls, point):
        return {
            "factors": point["factors"],
            "regularization": point["regularization_per_alpha"] * point["alpha"],
            "alpha": point["alpha"],
        }

    @classmethod
    def fit_from(cls, params, inputs: FitInputs) -> ALS:
        """Fitted where the job says (``inputs.extra("als_engine")``: implicit, Spark or the GPU)."""
        model = cls(params, seed=inputs.seed, engine=inputs.extra("als_engine")).using_threads(inputs.threads)
        return model.fit(inputs.matrix())

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> ALS:
        if not self.engine.default:  # Spark or the GPU: factors back into this same model
            user_factors, item_factors = self.engine.fit(as_user_items(user_items), self.params, self.seed)
            self._restore({"user_factors": user_factors, "item_factors": item_factors})
            return self
        with single_threaded_blas():  # implicit checks the BLAS set-up in its constructor
            self.model_ = self._new_model()
            self.model_.fit(as_user_items(user_items), show_progress=False)
        self.n_items = user_items.shape[1]
        self._by_factor = self._unit = None
        return self

    def fit_more(self, user_items: sp.csr_matrix, iterations: int) -> ALS:
        """Continue fitting for ``iterations`` more sweeps from the current factors: fit(n)
        then fit_more(m) gives fit(n + m)'s factors (a test checks it), so tuning can score
        after every few iterations without starting over."""
        self._require_fitted()
        with single_threaded_blas():
            self.model_.iterations = iterations
            self.model_.fit(as_user_items(user_items), show_progress=False)
        self.params = dataclasses.replace(self.params, iterations=self.params.iterations + iterations)
        self._by_factor = self._unit = None
        return self

    def _new_model(self) -> AlternatingLeastSquares:
        p = self.params
        return AlternatingLeastSquares(
            factors=p.factors,
            regularization=p.regularization,
            alpha=p.alpha,
            iterations=p.iterations,
            random_state=self.seed,
            num_threads=self.threads,
        )

    @property
    def n_users(self) -> int:
        return int(self.model_.user_factors.shape[0])

    @property
    def user_factors(self) -> np.ndarray:
        """(n_users, factors) float32, in the row space of the matrix it was fitted on."""
        return np.asarray(self.model_.user_factors)

    def _candidates(self, users, history, n, exclude):
        if users.max(initial=-1) >= self.n_users:
            raise ModelError(f"als: user index {users.max()} was not in the training matrix; use fold_in()")
        return implicit_candidates(self.model_, users, history, n, exclude)

    scores_every_item = True

    def score_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """The users' factors times every item factor."""
        return self.model_.user_factors[np.asarray(users)] @ self._factors_by_item()

    def _factors_by_item(self) -> np.ndarray:
        """(factors, n_items) contiguous copy of the item factors, made once per fit: a row
        times it is BLAS's fast case, half the time of item_factors @ factor for one user."""
        if self._by_factor is None:
            self._by_factor = np.ascontiguousarray(self.item_factors.T)
        return self._by_factor

    @property
    def item_factors(self) -> np.ndarray:
        """(n_items, factors) float32."""
        return np.asarray(self.model_.item_factors)

    def unit_item_factors(self) -> np.ndarray:
        """(n_items, factors) float32 item factors scaled to length 1 (a zero row stays zero),
        made once per fit: their dot products are the items' cosine similarities."""
        if self._unit is None:
            norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
            self._unit = (self.item_factors / np.where(norms > 0, norms, 1)).astype(np.float32)
        return self._unit

    def fold_in(self, history: sp.csr_matrix, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Recommend for a user unknown at training time from a 1 x n_items history row
        (implicit's recalculate_user: one least-squares solve against the item factors)."""
        history = as_user_items(history)
        with single_threaded_blas():
            ids, scores = self.model_.recommend(0, history, N=n, recalculate_user=True, filter_already_liked_items=True)
        return np.asarray(ids), np.asarray(scores)

    def user_factor(self, history: sp.csr_matrix) -> np.ndarray:
        """(factors,) float32 factor of a user unknown at training time, from a 1 x n_items
        history row: the fold-in's least-squares solve against the item factors."""
        with single_threaded_blas():
            return np.asarray(self.model_.recalculate_user(0, as_user_items(history)), dtype=np.float32)

    def for_user(self, row: int, history: sp.csr_matrix) -> ALS:
        """A view of this model whose only user (index 0) has the fitted factor of ``row``,
        or for a visitor (``row`` -1) the fold-in of ``history``: the item factors are
        shared, nothing is copied, and the model itself is left as it is (safe across threads)."""
        self._require_fitted()
        self.prepare()  # made here, on the model, so that every view shares them
        factor = self.user_factors[row] if row >= 0 else self.user_factor(history)
        view = copy.copy(self)
        view._last_pool = None
        view.model_ = copy.copy(self.model_)
        view.model_.user_factors = np.asarray(factor, dtype=np.float32).reshape(1, -1)
        return view

    def prepare(self) -> None:
        self._factors_by_item()
        self.unit_item_factors()

    def similar_items(self, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The items closest in factor space (cosine of the item factors)."""
        unit = self.unit_item_factors()
        items = np.asarray(items, dtype=np.int64)
        with single_threaded_blas():
            return top_similar(items, unit[items] @ unit.T, n)

    def explain(self, users, items, history, recent, ranked_by=None):
        """The history item closest to each recommended item in factor space (cosine), among
        the user's ``recent`` items."""
        vectors = self.unit_item_factors()
        out = np.full(np.shape(items), -1, dtype=np.int32)
        # batches of users with similar history lengths, so each product spans only its
        # batch's longest recent history (``recent`` is left-aligned, -1 padded)
        lengths = (recent >= 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(users), EXPLAIN_BATCH):
            rows = order[start : start + EXPLAIN_BATCH]
            width = max(int(lengths[rows].max()), 1)
            wanted, hist = items[rows], recent[rows, :width]
            # batched matrix products run on BLAS (one thread: recommender.threads); einsum would not
            with single_threaded_blas():
                s = np.matmul(vectors[np.maximum(wanted, 0)], vectors[np.maximum(hist, 0)].transpose(0, 2, 1))
            s += np.where(hist < 0, -np.inf, 0).astype(s.dtype)[:, None, :]  # padding never wins
            best = np.argmax(s, axis=2)
            chosen = np.take_along_axis(hist, best, axis=1)
            out[rows] = np.where((wanted >= 0) & (hist >= 0).any(axis=1)[:, None], chosen, -1)
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": np.asarray(self.model_.user_factors), "item_factors": self.item_factors}

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        with single_threaded_blas():
            self.model_ = self._new_model()
        self.model_.user_factors = arrays["user_factors"]
        self.model_.item_factors = arrays["item_factors"]
        self.n_items = arrays["item_factors"].shape[0]
        self._by_factor = self._unit = None
