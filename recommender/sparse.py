"""Small vectorised helpers over scipy CSR matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def csr_contains(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether ``matrix[rows[j], cols[j]]`` is stored, for every j (any shapes, broadcast alike).

    Negative columns (padding) are never contained. O(len * log nnz), no Python loop.
    """
    rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
    matrix = matrix if matrix.has_sorted_indices else matrix.sorted_indices()
    n_cols = np.int64(matrix.shape[1])
    keys = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr)) * n_cols + matrix.indices
    query = rows.astype(np.int64) * n_cols + cols.astype(np.int64)
    pos = np.searchsorted(keys, query)
    found = np.zeros(query.shape, dtype=bool)
    inside = pos < len(keys)
    found[inside] = keys[pos[inside]] == query[inside]
    return found & (cols >= 0)


def csr_values(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 ``matrix[rows[j], cols[j]]`` for every j (same shapes), 0 where nothing is stored.

    ``matrix`` should have sorted indices (scipy then finds each value by binary search).
    """
    rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
    if rows.size == 0:
        return np.zeros(rows.shape, dtype=np.float32)
    values = matrix[rows.ravel(), cols.ravel()]
    return np.asarray(values, dtype=np.float32).reshape(rows.shape)


def column_counts(matrix: sp.csr_matrix) -> np.ndarray:
    """(n_columns,) int64: the stored entries of each column (a user x item matrix's positives
    per item), without a transpose."""
    return np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)


def row_lengths(matrix: sp.csr_matrix) -> np.ndarray:
    return np.diff(matrix.indptr)


def recent_history(history: sp.csr_matrix, times: sp.csr_matrix, window: int) -> np.ndarray:
    """(n, window) item indices of each row's newest entries, -1 padded (no Python row loop)."""
    n = history.shape[0]
    rows = np.repeat(np.arange(n), np.diff(history.indptr))
    order = np.lexsort((-times.data, rows))  # by row, newest first
    pos = np.arange(len(order)) - history.indptr[rows[order]]
    keep = pos < window
    out = np.full((n, window), -1, dtype=np.int64)
    out[rows[order][keep], pos[keep]] = history.indices[order][keep]
    return out
