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


def row_lengths(matrix: sp.csr_matrix) -> np.ndarray:
    return np.diff(matrix.indptr)
