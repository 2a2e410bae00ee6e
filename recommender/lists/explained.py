"""A model's served lists with every entry's reason: the one list pipeline behind a version's
precomputed lists (``recommender.version.build``: a chunk of users at once) and its
request-time lists (``recommender.version.live``: one row).

rank (the model's ``recommend_explained``, never an excluded item) -> top-up (``served_lists``:
the popular items left) -> reasons (the model's proposal, chosen by ``reason_items``' rule).
The evaluation scores the same ``served_lists``.

Id space: row and column indices of the production matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.lists.reasons import Links, reason_items
from recommender.lists.served import ServedLists, served_lists
from recommender.models import Popular, Recommender, TopN


@dataclass(frozen=True)
class ListInputs:
    """What one batch of lists is made from. ``history``: the positives the models score from
    (row ``users[r]`` is the r-th user's); ``exclude``: what no list may hold (every rated
    movie, a request's filter); ``recent``: (len(users), window) each user's newest positives,
    -1 padded (``recent_history``); ``fallback``: the popular top-up; ``links``: the evidence
    every reason is chosen from."""

    history: sp.csr_matrix
    exclude: sp.csr_matrix
    recent: np.ndarray
    fallback: Popular
    links: Links


@dataclass(frozen=True)
class ExplainedLists:
    """(n_users, k) lists, each entry's reason (item index, -1: none) and, for a model that
    ranks by named features (the two-stage ranker), each entry's strongest feature ("" for the
    popular top-up and empty entries; None for the other models)."""

    lists: ServedLists
    reasons: np.ndarray
    ranked_by: np.ndarray | None = None


def top_lists(
    model: Recommender, users: np.ndarray, n: int, inputs: ListInputs, top: TopN | None = None
) -> tuple[ServedLists, np.ndarray | None]:
    """The first two stages: each user's top-``n`` topped up with popular items, and the
    features that ranked them (None but for the ranker). ``top``: the model's own lists when
    the caller already has them (a re-ranker's prefix of a shared pool)."""
    ranked_by = None
    if top is None:
        top, ranked_by = model.recommend_explained(users, inputs.history, n, inputs.exclude)
    lists = served_lists(model, users, inputs.history, n, inputs.fallback, top=top, exclude=inputs.exclude)
    if ranked_by is not None:
        ranked_by = np.where(lists.filled | (lists.items < 0), "", np.asarray(ranked_by).astype(str))
    return lists, ranked_by


def with_reasons(
    model: Recommender,
    users: np.ndarray,
    lists: ServedLists,
    inputs: ListInputs,
    ranked_by: np.ndarray | None = None,
) -> ExplainedLists:
    """The last stage: every entry's reason, proposed by the model and chosen by the rule."""
    reasons = reason_items(
        model, users, lists, inputs.history, recent=inputs.recent, links=inputs.links, ranked_by=ranked_by
    )
    return ExplainedLists(lists, reasons, ranked_by)


def explained_lists(
    model: Recommender, users: np.ndarray, n: int, inputs: ListInputs, top: TopN | None = None
) -> ExplainedLists:
    """Every stage for ``users``: their lists of ``n`` and the entries' reasons."""
    lists, ranked_by = top_lists(model, users, n, inputs, top)
    return with_reasons(model, users, lists, inputs, ranked_by)
