"""Because you liked ...": for each recommended item, the history item that contributed most."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.lists.served import ServedLists
from recommender.models import ALS, EASE, ItemKNN, Recommender
from recommender.models.reranked import RerankedALS
from recommender.threads import single_threaded_blas

#: Reasons for factor models are searched among the user's most recent history items.
REASON_WINDOW = 200
#: Users per batched product (bounds the (batch, k, window) similarity tensor).
BATCH = 2048
#: Users per EASE weight gather (a (batch, window, k) float32 tensor: 256 x 200 x 20 = 4 MB).
EASE_BATCH = 256


def reason_items(
    model: Recommender,
    users: np.ndarray,
    lists: ServedLists,
    history: sp.csr_matrix,
    *,
    recent: np.ndarray,
    sorted_sim: sp.csr_matrix | None,
) -> np.ndarray:
    """(n, k) index of the history item that contributed most to each recommended item, -1 for none.

    ItemKNN: the history item with the largest similarity (its exact share of the score).
    ALS / diverse / hybrid: the history item closest in factor space, among the REASON_WINDOW most recent.
    EASE: the history item with the largest weight towards the item (its exact share of the
    score), among the REASON_WINDOW most recent.
    Popular and top-up entries: none.
    ``recent``: (len(users), window) newest history items per user (``recent_history``);
    ``sorted_sim``: ItemKNN's similarity with rows ordered best first (``rows_sorted_by_value``).
    """
    out = np.full(lists.items.shape, -1, dtype=np.int32)
    if isinstance(model, ItemKNN):
        sim = sorted_sim
        batch = 512  # bounds the dense (batch x items) history mask below (~30 MB)
        for start in range(0, len(users), batch):
            sl = slice(start, start + batch)
            items = lists.items[sl]
            rows = sim[np.where(items >= 0, items, 0).ravel()]
            entry_row = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
            owner = entry_row // items.shape[1]  # the batch row (user) of each entry
            seen = history[users[sl]]
            mask = np.zeros((seen.shape[0], history.shape[1]), dtype=bool)
            mask[np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr)), seen.indices] = True
            # neighbours come best first in each row: the first one the user has seen is the reason
            hit = np.flatnonzero(mask[owner, rows.indices])
            first_rows, first = np.unique(entry_row[hit], return_index=True)
            reason = np.full(rows.shape[0], -1, dtype=np.int32)
            reason[first_rows] = rows.indices[hit[first]]
            out[sl] = reason.reshape(items.shape)
    elif isinstance(model, EASE):
        for start in range(0, len(users), EASE_BATCH):
            sl = slice(start, start + EASE_BATCH)
            hist = recent[sl]
            weights = model.contributions(hist, lists.items[sl])  # (batch, window, k)
            best = np.argmax(weights, axis=1)
            found = np.take_along_axis(weights, best[:, None, :], axis=1)[:, 0, :] > -np.inf
            out[sl] = np.where(found & (lists.items[sl] >= 0), np.take_along_axis(hist, best, axis=1), -1)
    elif isinstance(model, (ALS, RerankedALS)):
        als = model if isinstance(model, ALS) else model.als
        vectors = als.unit_item_factors()
        # batches of users with similar history lengths, so each product spans only its
        # batch's longest recent history (``recent`` is left-aligned, -1 padded)
        lengths = (recent >= 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(users), BATCH):
            rows = order[start : start + BATCH]
            width = max(int(lengths[rows].max()), 1)
            items, hist = lists.items[rows], recent[rows, :width]
            # batched matrix products run on BLAS (one thread: recommender.threads); einsum would not
            with single_threaded_blas():
                s = np.matmul(vectors[np.maximum(items, 0)], vectors[np.maximum(hist, 0)].transpose(0, 2, 1))
            s += np.where(hist < 0, -np.inf, 0).astype(s.dtype)[:, None, :]  # padding never wins
            best = np.argmax(s, axis=2)
            chosen = np.take_along_axis(hist, best, axis=1)
            out[rows] = np.where((items >= 0) & (hist >= 0).any(axis=1)[:, None], chosen, -1)
    out[lists.filled] = -1
    return out


def rows_sorted_by_value(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The same CSR matrix with each row's entries ordered by value, largest first."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    return sp.csr_matrix((matrix.data[order], matrix.indices[order], matrix.indptr), shape=matrix.shape)
