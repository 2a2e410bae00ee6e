"""The CSR lookups (``recommender.sparse``) give scipy's own values by every path: a few
lookups search their rows (one call per row, or all rows at once), many pass over the matrix."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import sparse


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(1, 40),
    n_cols=st.integers(1, 60),
    density=st.floats(0.0, 1.0),
    lookups=st.integers(0, 300),
    seed=st.integers(0, 2**16),
)
def test_lookups_equal_scipys_values_by_either_path(n_rows, n_cols, density, lookups, seed):
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float32)
    matrix.data += 1.0  # never a stored zero: stored means non-zero below
    matrix.sort_indices()
    rows, cols = rng.integers(0, n_rows, lookups), rng.integers(0, n_cols, lookups)
    expected = np.asarray(matrix[rows, cols], dtype=np.float32).ravel() if lookups else np.zeros(0, np.float32)
    # the row search (one call per row, then all rows at once), then the pass over the matrix
    for per_lookup, few_rows in ((0, 10**9), (0, 0), (10**9, 0)):
        sparse.SPARSE_LOOKUPS, sparse.FEW_ROWS = per_lookup, few_rows
        try:
            np.testing.assert_array_equal(sparse.csr_values(matrix, rows, cols), expected)
            np.testing.assert_array_equal(sparse.csr_contains(matrix, rows, cols), expected != 0)
            padded = np.where(cols % 3 == 0, -1, cols)  # padding (-1) is never contained
            assert not sparse.csr_contains(matrix, rows, padded)[padded < 0].any()
        finally:
            sparse.SPARSE_LOOKUPS, sparse.FEW_ROWS = 32, 64
