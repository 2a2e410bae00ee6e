"""What every `implicit`-backed model shares: input checks and BLAS pinning."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from implicit.cpu.matrix_factorization_base import MatrixFactorizationBase
from implicit.cpu.topk import topk

from recommender.threads import single_threaded_blas


def as_user_items(user_items: sp.csr_matrix) -> sp.csr_matrix:
    """The user x item CSR float32 matrix `implicit` expects (never item x user)."""
    if not sp.isspmatrix_csr(user_items) and not isinstance(user_items, sp.csr_array):
        user_items = sp.csr_matrix(user_items)
    if user_items.dtype != np.float32:
        user_items = user_items.astype(np.float32)
    return sp.csr_matrix(user_items)


class _RowIndices:
    """``rows[i].indices`` as views into a CSR matrix: the only access implicit's top-k
    filter makes. Given the CSR itself, implicit builds a one-row scipy matrix per user while
    holding the GIL (measured by the models benchmark: docs/performance.md)."""

    __slots__ = ("_indptr", "_indices")

    def __init__(self, matrix: sp.csr_matrix) -> None:
        self._indptr, self._indices = matrix.indptr, matrix.indices

    def __getitem__(self, row: int) -> SimpleNamespace:
        return SimpleNamespace(indices=self._indices[self._indptr[row] : self._indptr[row + 1]])


def implicit_candidates(model, users, history: sp.csr_matrix, n: int, exclude: sp.csr_matrix | None = None):
    """Top-``n`` (ids, scores) from an `implicit` model for ``users`` (row ``r`` of ``history``
    is ``users[r]``), liked items filtered by `implicit`; a factor model filters the rows of
    ``exclude`` instead when given (its scores do not read the history)."""
    history = as_user_items(history)
    # implicit scores batches of users on its own threads; BLAS threads under them oversubscribe
    with single_threaded_blas():
        if isinstance(model, MatrixFactorizationBase):
            # exactly what model.recommend(users, history, N=n) does for known users (a test
            # checks the lists are identical), minus the per-user CSR rows
            return topk(
                model.item_factors,
                model.user_factors[users],
                n,
                filter_query_items=_RowIndices(history if exclude is None else exclude),
                num_threads=model.num_threads,
            )
        return model.recommend(users, history, N=n, filter_already_liked_items=True)
