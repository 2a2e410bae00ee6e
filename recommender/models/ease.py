"""EASE: an item-item linear model with a closed-form solution (Steck, WWW 2019).

With X the binary user x item matrix of the modelled items, P = (XᵀX + λI)⁻¹ and
B = I - P·diag(1/diag(P)) (so diag(B) = 0), a user's scores are x_u·B. B is dense
(n x n), so only the ``max_items`` most popular train items are modelled; the others are
never recommended by EASE (serving tops short lists up with popular items, as for any model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg.lapack as lapack
import scipy.sparse as sp

from recommender.models.base import FitInputs, ModelError, Params, Range, Recommender, top_similar

#: Rows per block when the inverse's upper triangle is mirrored (bounds the temporary copy).
_MIRROR_BLOCK = 2048
#: Users scored at once: bounds the dense (rows x modelled items) score block (8,000 items: 32 MB).
_SCORE_ROWS = 1024
#: Users per weight gather in ``explain`` (a (batch, window, k) float32 tensor: 256 x 200 x 20 = 4 MB).
EXPLAIN_BATCH = 256


@dataclass(frozen=True)
class EASEParams(Params):
    #: L2 penalty on the item-item weights (Steck's λ); denser data wants a larger one.
    lam: float = 250.0
    #: Items modelled (the most popular in train); the Gram matrix is max_items² float32
    #: (8,000 items: 256 MB; a fit holds two, peak under 1 GB) and its inverse costs max_items³.
    #: None: every item with a train positive.
    max_items: int | None = 8_000

    def __post_init__(self) -> None:
        if self.lam <= 0:
            raise ValueError("lam must be > 0")
        if self.max_items is not None and self.max_items < 1:
            raise ValueError("max_items must be >= 1 or None")


class EASE(Recommender):
    name = "ease"
    Params = EASEParams
    params: EASEParams
    candidates_filter = "exclude"  # excluded items' scores are set to -inf before the top-n
    search_space = {"lam": Range(10.0, 1e4)}
    # a six-point grid and two refinements; on a tuning sample, a five-point grid
    trials = 8
    sampled_trials = 7

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> EASE:
        items, gram = item_gram(user_items, self.params.max_items)
        return self.fit_gram(items, gram, user_items.shape[1])

    @classmethod
    def fit_from(cls, params, inputs: FitInputs) -> EASE:
        """Fitted from the job's shared item Gram matrix (every lambda tried reuses it)."""
        model = cls(params, seed=inputs.seed).using_threads(inputs.threads)
        items, gram = inputs.extra("gram")(model.params.max_items)
        return model.fit_gram(items, gram.copy(), inputs.matrix().shape[1])

    def fit_gram(self, items: np.ndarray, gram: np.ndarray, n_items: int) -> EASE:
        """Fit from ``item_gram``'s output (overwritten: pass a copy to fit several lambdas)."""
        self.weights_ = _ease_weights(gram, self.params.lam)
        self._set_items(items, n_items)
        return self

    def _set_items(self, items: np.ndarray, n_items: int) -> None:
        self.items_ = np.asarray(items, dtype=np.int32)
        self.n_items = n_items
        #: (n_items,) each item's column among the modelled ones, -1 for the others.
        self.position_ = np.full(n_items, -1, dtype=np.int64)
        self.position_[self.items_] = np.arange(len(self.items_))

    @property
    def n_modelled(self) -> int:
        return len(self.items_)

    def modelled(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """The history rows over the modelled items only (rows x n_modelled, binary): columns
        renumbered through ``position_``, cheaper than scipy's column indexing."""
        history = sp.csr_matrix(history)
        position = self.position_[history.indices]
        kept = position >= 0
        rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows[kept], minlength=history.shape[0]))))
        return sp.csr_matrix(
            (np.ones(int(kept.sum()), np.float32), position[kept], indptr), shape=(history.shape[0], self.n_modelled)
        )

    def scores(self, history: sp.csr_matrix) -> np.ndarray:
        """(rows, n_modelled) float32 scores of the modelled items (``items_``) from history rows;
        -inf for a row whose history holds no modelled item (every score 0: nothing to rank by)."""
        x = self.modelled(history)
        out = np.asarray(x @ self.weights_, dtype=np.float32)  # scipy's sparse x dense loop, not BLAS
        out[np.diff(x.indptr) == 0] = -np.inf
        return out

    scores_every_item = True

    def score_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """``scores`` in the full item space: -inf for unmodelled items."""
        out = np.full((history.shape[0], self._fitted_items()), -np.inf, dtype=np.float32)
        out[:, self.items_] = self.scores(history)
        return out

    def _candidates(self, users, history, n, exclude):
        n = min(n, self.n_modelled)
        items = np.full((len(users), n), -1, dtype=np.int32)
        scores = np.full((len(users), n), -np.inf, dtype=np.float32)
        for start in range(0, len(users), _SCORE_ROWS):
            rows = slice(start, start + _SCORE_ROWS)
            items[rows], scores[rows] = self._top_rows(history[rows], exclude[rows], n)
        return items, scores

    def _top_rows(self, history, exclude, n):
        scores = self.scores(history)
        # excluded items never compete (row r of ``exclude`` is row r of ``history``)
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        cols = self.position_[exclude.indices]
        scores[rows[cols >= 0], cols[cols >= 0]] = -np.inf
        if n < self.n_modelled:
            top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        else:
            top = np.broadcast_to(np.arange(self.n_modelled), scores.shape)
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)
        return np.where(np.isfinite(top_scores), self.items_[top], -1), top_scores

    def contributions(self, history_items: np.ndarray, items: np.ndarray) -> np.ndarray:
        """(…, h, k) weight B[j, i] of history item j (``history_items``: (…, h), -1 padded)
        towards recommended item i (``items``: (…, k)), in full item index space: an
        unmodelled item contributes nothing (-inf)."""
        position = np.append(self.position_, -1)  # index -1 -> the last, unmodelled
        h, i = position[history_items], position[items]
        weights = self.weights_[np.maximum(h, 0)[..., :, None], np.maximum(i, 0)[..., None, :]]
        return np.where((h >= 0)[..., :, None] & (i >= 0)[..., None, :], weights, -np.inf)

    def similar_items(self, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The items an item weighs most towards (its row of B); unmodelled items have none."""
        items = np.asarray(items, dtype=np.int64)
        scores = np.full((len(items), self._fitted_items()), -np.inf, dtype=np.float32)
        position = self.position_[items]
        modelled = position >= 0
        scores[np.ix_(np.flatnonzero(modelled), self.items_)] = self.weights_[position[modelled]]
        scores[scores <= 0] = -np.inf  # no positive weight: not similar
        return top_similar(items, scores, n)

    def explain(self, users, items, history, recent, ranked_by=None):
        """The history item with the largest weight towards each recommended item (its exact
        share of the score), among the user's ``recent`` items."""
        out = np.full(np.shape(items), -1, dtype=np.int32)
        for start in range(0, len(users), EXPLAIN_BATCH):
            sl = slice(start, start + EXPLAIN_BATCH)
            hist = recent[sl]
            weights = self.contributions(hist, items[sl])  # (batch, window, k)
            best = np.argmax(weights, axis=1)
            found = np.take_along_axis(weights, best[:, None, :], axis=1)[:, 0, :] > -np.inf
            out[sl] = np.where(found & (items[sl] >= 0), np.take_along_axis(hist, best, axis=1), -1)
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"items": self.items_, "weights": self.weights_, "n_items": np.array(self.n_items)}

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.weights_ = np.asarray(arrays["weights"], dtype=np.float32)
        self._set_items(arrays["items"], int(arrays["n_items"]))


def item_gram(user_items: sp.csr_matrix, max_items: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(modelled item indices (n,), their Gram matrix XᵀX (n x n float32)) of binary
    ``user_items``: the items with a positive, at most ``max_items`` of the most popular
    (ties by index, so the choice is deterministic). Independent of lambda: tuning reuses it."""
    binary = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    counts = np.asarray(binary.sum(axis=0)).ravel()
    modelled = np.flatnonzero(counts > 0)
    if max_items is not None and len(modelled) > max_items:
        order = np.lexsort((modelled, -counts[modelled]))
        modelled = np.sort(modelled[order[:max_items]])
    x = binary[:, modelled]
    gram = (x.T @ x).toarray().astype(np.float32)  # sparse product: cost ~ sum of users' squared counts
    return modelled.astype(np.int32), gram


def _ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """B = I - P·diag(1/diag(P)) with P = (G + λI)⁻¹, diag(B) = 0, computed in place on
    ``gram`` (C-ordered float32, symmetric): a Cholesky factorisation and its inverse (LAPACK
    potrf/potri) take half the flops of a general inverse and no second n x n buffer."""
    n = gram.shape[0]
    gram[np.diag_indices(n)] += lam
    fortran = gram.T  # LAPACK works in place on Fortran order; G is symmetric, so G.T is G
    # one large factorisation with nothing else running: BLAS may use every core here
    factor, info = lapack.spotrf(fortran, lower=False, overwrite_a=True)
    if info != 0:
        raise ModelError(f"ease: the Gram matrix plus lambda={lam} is not positive definite (LAPACK info {info})")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ModelError(f"ease: inverting the Cholesky factor failed (LAPACK info {info})")
    # potri fills the upper triangle only: mirror it, a block of rows at a time
    for start in range(0, n, _MIRROR_BLOCK):
        stop = min(start + _MIRROR_BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    weights = np.ascontiguousarray(inverse.T)  # P is symmetric: its transpose is a C-ordered view of P
    diagonal = np.diag(weights).copy()
    weights /= -diagonal[None, :]
    weights[np.diag_indices(n)] = 0.0
    return weights
