"""Thread limits for dense products.

`implicit` and DuckDB run their own threads; a multi-threaded BLAS underneath them
oversubscribes the cores (implicit warns about it), and a BLAS product left multi-threaded
next to them varies wildly in time under load. Every dense product in fitting, re-ranking
and precompute runs inside ``single_threaded_blas``.
"""

from __future__ import annotations

import contextlib
import warnings

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS limited to one thread for the duration (implicit's own warning silenced)."""
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*OpenBLAS is configured to use.*")
        yield
