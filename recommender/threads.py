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


class _ProcessLimit:
    """Whether ``pin_blas_for_process`` ran: BLAS's thread pool is one per process, so this is
    process state by nature (set once by the server, never by a library import)."""

    pinned = False


def pin_blas_for_process() -> None:
    """Limit BLAS to one thread for the rest of the process (the server: every request's
    products are small, and finding the BLAS libraries for each one costs about 1 ms)."""
    threadpool_limits(limits=1, user_api="blas")
    warnings.filterwarnings("ignore", message=".*OpenBLAS is configured to use.*")  # once, for every thread
    _ProcessLimit.pinned = True


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS limited to one thread for the duration (implicit's own warning silenced). In a
    pinned process, nothing to do: ``catch_warnings`` swaps a process-wide filter list, which
    concurrent requests must not do."""
    if _ProcessLimit.pinned:
        yield
        return
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.filterwarnings("ignore", message=".*OpenBLAS is configured to use.*")
        yield
