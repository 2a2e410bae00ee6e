"""The two-stage ranker's served lists: its top-n over the sources' candidates, topped up like
every list (``served_lists``), each entry with the feature that raised it most and, when that
feature is a source's score or rank, that source's reason movie.

One function for both places a ranker list is made: the version's precomputed lists
(``precompute``, every user of a chunk at once) and request-time lists (``live``, one row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.lists.reasons import Links, reason_items
from recommender.lists.served import ServedLists, served_lists
from recommender.models import Popular
from recommender.models.base import ModelError, load_arrays
from recommender.models.ranker import SEQUENCE_FEATURES, SOURCES, TwoStageRanker
from recommender.warehouse.features import FEATURE_NAMES

#: The two-stage ranker's name: served when the version holds its booster (not in MODEL_NAMES:
#: it is trained by recommender.jobs.two_stage, not fitted like the others).
RANKER = "ranker"
#: The features the served ranker's booster must have been trained on, in order.
RANKER_FEATURES = (
    tuple(f"{name}_{what}" for name in SOURCES for what in ("score", "rank")) + FEATURE_NAMES + SEQUENCE_FEATURES
)


def load_ranker(path: Path) -> TwoStageRanker:
    """The trained ranker of an artifact (attach its sources and a feature reader to serve it);
    ModelError when its booster was trained on other features than RANKER_FEATURES (by older
    code: it would fail on every list)."""
    meta, arrays = load_arrays(path)
    ranker = TwoStageRanker(meta["params"], seed=meta["seed"])
    ranker._restore(arrays)
    if list(ranker.booster.feature_name()) != list(RANKER_FEATURES):
        raise ModelError(f"{path}: its booster was trained on other features than this code's; `recsys run` trains one")
    return ranker


@dataclass(frozen=True)
class RankerLists:
    """(n_users, k) lists, reasons (item index, -1: none) and ranked_by (feature name, "" for
    the popular top-up and empty entries)."""

    lists: ServedLists
    reasons: np.ndarray
    ranked_by: np.ndarray


def ranker_lists(
    ranker: TwoStageRanker,
    users: np.ndarray,
    history: sp.csr_matrix,
    exclude: sp.csr_matrix,
    n: int,
    fallback: Popular,
    *,
    recent: np.ndarray,
    links: Links,
) -> RankerLists:
    """The top-``n`` of a ranker attached to its sources (fitted models scoring these rows of
    ``history``) and a feature reader, for ``users``; ``recent`` and ``links`` as
    ``reason_items`` takes them. An entry's reason is proposed by the source its top feature
    names (none for a feature-store feature) and chosen by the reasons' rule."""
    top, top_feature = ranker.explained(users, history, n, exclude)
    lists = served_lists(ranker, users, history, n, fallback, top=top, exclude=exclude)
    names = np.where(lists.filled | (lists.items < 0), "", top_feature.astype(str))
    proposed = np.full(lists.items.shape, -1, dtype=np.int32)
    for name in SOURCES:
        picked = np.char.startswith(names, f"{name}_")
        if picked.any():
            proposed[picked] = ranker.sources[name].explain(users, lists.items, history, recent)[picked]
    reasons = reason_items(ranker, users, lists, history, recent=recent, links=links, proposed=proposed)
    return RankerLists(lists, reasons, names)
