"""What every `implicit`-backed model shares: input checks and BLAS pinning."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


def as_user_items(user_items: sp.csr_matrix) -> sp.csr_matrix:
    """The user x item CSR float32 matrix `implicit` expects (never item x user)."""
    if not sp.isspmatrix_csr(user_items) and not isinstance(user_items, sp.csr_array):
        user_items = sp.csr_matrix(user_items)
    if user_items.dtype != np.float32:
        user_items = user_items.astype(np.float32)
    return sp.csr_matrix(user_items)


@contextlib.contextmanager
def single_threaded_blas():
    """`implicit` parallelises itself; a multi-threaded BLAS underneath oversubscribes the
    cores and slows fitting down (implicit warns about it), so BLAS gets one thread."""
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*OpenBLAS is configured to use.*")
        yield


def implicit_candidates(model, users, history: sp.csr_matrix, n: int):
    """Top-``n`` (ids, scores) from an `implicit` model, liked items filtered by `implicit`."""
    return model.recommend(users, as_user_items(history), N=n, filter_already_liked_items=True)
