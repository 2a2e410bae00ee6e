"""Because you liked ...": for each recommended item, the history item that contributed most."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.lists.served import ServedLists
from recommender.models import Recommender
from recommender.threads import map_blocks

#: Reasons are searched among the user's most recent history items (factor models, EASE).
REASON_WINDOW = 200
#: Users per block when reasons are found on several threads.
REASON_BLOCK = 8192


def reason_items(
    model: Recommender,
    users: np.ndarray,
    lists: ServedLists,
    history: sp.csr_matrix,
    *,
    recent: np.ndarray,
    threads: int = 1,
) -> np.ndarray:
    """(n, k) index of the history item that contributed most to each listed item
    (``Recommender.explain``: each model knows its own rule), -1 for none and for the
    popular items a short list was topped up with. ``history``: the user x item matrix
    (row ``users[r]`` is the r-th user's); ``recent``: (len(users), window) newest history
    items per user (``recent_history``). ``threads``: blocks of users explained side by side
    (each user's reasons are their own, so the result does not depend on it)."""
    blocks = [slice(start, start + REASON_BLOCK) for start in range(0, len(users), REASON_BLOCK)] or [slice(0, 0)]

    def explain(block: slice) -> np.ndarray:
        return np.asarray(model.explain(users[block], lists.items[block], history, recent[block]), dtype=np.int32)

    # the first block alone: whatever a model makes on first use is made once, then shared
    found = [explain(blocks[0])] + map_blocks(explain, blocks[1:], threads)
    out = np.concatenate(found).reshape(np.shape(lists.items))
    out[lists.filled] = -1
    return out
