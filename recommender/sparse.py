"""Small vectorised helpers over scipy CSR matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Below one lookup per this many stored entries, lookups search their rows (binary search, no
#: pass over the matrix): a request's few thousand lookups in a large similarity matrix.
SPARSE_LOOKUPS = 32
#: Lookups in at most this many distinct rows search each row with one call.
FEW_ROWS = 64


def _row_search(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``matrix.indices``, stored) of every (row, col), flat; each found by a
    binary search within its row (sorted indices), all rows at once: O(len * log(row length))."""
    rows, cols = rows.ravel().astype(np.int64), cols.ravel().astype(np.int64)
    distinct = np.unique(rows)
    if len(distinct) <= FEW_ROWS:  # a request's few positives: one search per row, in C
        at = np.zeros(len(rows), np.int64)
        found = np.zeros(len(rows), bool)
        for row in distinct.tolist():
            mine = np.flatnonzero(rows == row)
            start, stop = matrix.indptr[row], matrix.indptr[row + 1]
            offset = np.searchsorted(matrix.indices[start:stop], cols[mine])
            inside = offset < stop - start
            at[mine] = start + np.minimum(offset, max(stop - start - 1, 0))
            found[mine[inside]] = matrix.indices[start + offset[inside]] == cols[mine[inside]]
        return at, found
    lo = matrix.indptr[rows].astype(np.int64)
    end = matrix.indptr[rows + 1].astype(np.int64)
    hi = end.copy()
    last = max(len(matrix.indices) - 1, 0)
    active = lo < hi
    while active.any():
        mid = (lo + hi) // 2
        right = matrix.indices[np.minimum(mid, last)] < cols
        lo = np.where(active & right, mid + 1, lo)
        hi = np.where(active & ~right, mid, hi)
        active = lo < hi
    found = (lo < end) & (matrix.indices[np.minimum(lo, last)] == cols) if len(matrix.indices) else lo < 0
    return lo, found


def csr_contains(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether ``matrix[rows[j], cols[j]]`` is stored, for every j (any shapes, broadcast alike).

    Negative columns (padding) are never contained. O(len * log nnz), no Python loop.
    """
    rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
    matrix = matrix if matrix.has_sorted_indices else matrix.sorted_indices()
    if rows.size * SPARSE_LOOKUPS < matrix.nnz:
        return _row_search(matrix, rows, cols)[1].reshape(rows.shape) & (cols >= 0)
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

    ``matrix`` should have sorted indices (each value is then found by binary search; scipy's
    own lookup first checks the whole matrix's order, a pass over it for every call).
    """
    rows, cols = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
    if rows.size == 0:
        return np.zeros(rows.shape, dtype=np.float32)
    if matrix.has_sorted_indices and rows.size * SPARSE_LOOKUPS < matrix.nnz:
        at, found = _row_search(matrix, rows, cols)
        values = np.where(found, matrix.data[np.minimum(at, matrix.nnz - 1)], 0)
        return values.astype(np.float32).reshape(rows.shape)
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
