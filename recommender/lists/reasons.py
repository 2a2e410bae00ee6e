"""Because you liked ...": for each recommended item, the history item that contributed most."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.lists.served import ServedLists
from recommender.models import Recommender

#: Reasons are searched among the user's most recent history items (factor models, EASE).
REASON_WINDOW = 200


def reason_items(
    model: Recommender, users: np.ndarray, lists: ServedLists, history: sp.csr_matrix, *, recent: np.ndarray
) -> np.ndarray:
    """(n, k) index of the history item that contributed most to each listed item
    (``Recommender.explain``: each model knows its own rule), -1 for none and for the
    popular items a short list was topped up with. ``history``: the user x item matrix
    (row ``users[r]`` is the r-th user's); ``recent``: (len(users), window) newest history
    items per user (``recent_history``)."""
    out = np.asarray(model.explain(users, lists.items, history, recent), dtype=np.int32)
    out[lists.filled] = -1
    return out
