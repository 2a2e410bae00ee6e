"""Because you liked ...": for each recommended movie, the history movie with the strongest
evidence linking the two.

The rule, the same for every model (``Links.choose``):

1. The evidence is co-occurrence: the cosine between two movies' sets of positive raters,
   over the positives the models were fitted on. Each movie keeps its ``LINK_NEIGHBOURS``
   strongest links (at least ``MIN_LINK``); anything weaker is no evidence.
2. The shortlist is the user's ``SHORTLIST`` history movies most strongly linked to the
   recommendation.
3. The reason is, in this order: the model's own proposal (``Recommender.explain``: its
   largest contribution; for the ranker, the source its top feature names) when it is on the
   shortlist and shares a genre with the recommendation; else the strongest shortlisted movie
   that shares a genre; else the strongest shortlisted movie.
4. An empty shortlist gives no reason: nothing in the user's history is strongly linked to
   the recommendation, and a random-looking reason is worse than none. The popular model
   gives none either: its lists do not come from the user's history.

A factor-space neighbour (ALS), or an EASE weight, is therefore a reason only when the ratings
themselves link the two movies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.lists.served import ServedLists
from recommender.models import ItemKNN, Recommender

#: Reasons are proposed among the user's most recent history items (factor models, EASE).
REASON_WINDOW = 200
#: Links kept per movie: its strongest co-occurrence cosines.
LINK_NEIGHBOURS = 100
#: A cosine below this links nothing.
MIN_LINK = 0.05
#: How many of the user's most strongly linked history movies a reason is chosen from.
SHORTLIST = 3
#: Users per batch in ``choose`` (bounds its dense batch x items history mask: ~30 MB at 60k items).
CHOOSE_BATCH = 512


def genre_bits(item_ids: np.ndarray, genres_of: Mapping[int, Iterable[str]]) -> np.ndarray:
    """(len(item_ids),) uint64: each movie's genres as bits (genre names in sorted order; a
    catalogue with more than 64 genres folds them onto 64 bits, so two movies may then seem
    to share one)."""
    names = sorted({g for movie in item_ids.tolist() for g in genres_of.get(movie, ())})
    bit = {g: np.uint64(1) << np.uint64(i % 64) for i, g in enumerate(names)}
    out = np.zeros(len(item_ids), dtype=np.uint64)
    for i, movie in enumerate(item_ids.tolist()):
        for g in genres_of.get(movie, ()):
            out[i] |= bit[g]
    return out


@dataclass(frozen=True)
class Links:
    """The evidence reasons are chosen from: ``strongest`` (n_items, n_items) CSR, row ``i`` the
    items most co-occurring with item ``i`` (cosine over binary positives, at least MIN_LINK,
    at most LINK_NEIGHBOURS, itself excluded), strongest first; ``genres`` (n_items,) uint64
    bits (``genre_bits``). Index space: the production matrices' columns."""

    strongest: sp.csr_matrix
    genres: np.ndarray

    @classmethod
    def fit(
        cls, history: sp.csr_matrix, genres: np.ndarray, fitted: Recommender | None = None, threads: int = 0
    ) -> Links:
        """Links of ``history`` (user x item positives; values are ignored). ``fitted``: a
        model fitted on the same positives whose stored cosines are read instead of computed
        again when it keeps enough of them (``Recommender.cosine_neighbours``); ``threads``:
        implicit's otherwise (0: every core)."""
        stored = None if fitted is None else fitted.cosine_neighbours(LINK_NEIGHBOURS, MIN_LINK)
        if stored is not None:
            return cls(_strongest_first(stored), np.asarray(genres, dtype=np.uint64))
        binary = sp.csr_matrix((np.ones(history.nnz, np.float32), history.indices, history.indptr), shape=history.shape)
        # implicit's cosine neighbours (one more: each item keeps itself)
        knn = ItemKNN({"neighbours": min(LINK_NEIGHBOURS + 1, max(1, history.shape[1]))})
        knn = knn.using_threads(threads).fit(binary)
        return cls(_strongest_first(knn.similarity), np.asarray(genres, dtype=np.uint64))

    def save(self, path: Path) -> None:
        """Write to ``path`` (npz, no pickle)."""
        s = self.strongest
        np.savez(
            path, data=s.data, indices=s.indices, indptr=s.indptr, shape=np.array(s.shape),
            genres=self.genres,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> Links:
        with np.load(path, allow_pickle=False) as f:
            strongest = sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
            return cls(strongest, f["genres"])

    def choose(self, users: np.ndarray, items: np.ndarray, history: sp.csr_matrix, proposed: np.ndarray) -> np.ndarray:
        """(len(users), k) int32: the reason (history item index, -1: none) for each of
        ``items`` ((len(users), k), -1 padded) by the module's rule. ``history``: the user x
        item positives (row ``users[r]`` is the r-th user's); ``proposed``: the model's own
        reasons, same shape (-1: none)."""
        items = np.asarray(items)
        out = np.full(items.shape, -1, dtype=np.int32)
        if items.size == 0:
            return out
        k = items.shape[1]
        links = self.strongest
        for start in range(0, len(users), CHOOSE_BATCH):
            sl = slice(start, start + CHOOSE_BATCH)
            wanted, proposal = items[sl], np.asarray(proposed[sl])
            rows = links[np.where(wanted >= 0, wanted, 0).ravel()]
            entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))  # (user, position) flattened
            seen = history[np.asarray(users[sl])]
            mask = np.zeros((seen.shape[0], links.shape[1]), dtype=bool)
            mask[np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr)), seen.indices] = True
            hit = np.flatnonzero(mask[entry // k, rows.indices])
            if len(hit) == 0:
                continue
            # the shortlist: each entry's first SHORTLIST hits (rows are strongest first)
            hit_entry = entry[hit]
            first = np.searchsorted(hit_entry, hit_entry)  # hit_entry is sorted
            place = np.arange(len(hit)) - first
            short = place < SHORTLIST
            hit, hit_entry, place = hit[short], hit_entry[short], place[short]
            candidate = rows.indices[hit]
            recommended = wanted.ravel()[hit_entry]
            shares = (self.genres[candidate] & self.genres[recommended]) != 0
            own = candidate == proposal.ravel()[hit_entry]
            # lower wins: the model's own shortlisted proposal with a shared genre, then shared
            # genre, then link strength alone; within a class, the stronger link
            priority = np.where(own & shares, 0, np.where(shares, 1, 2)) * SHORTLIST + place
            order = np.lexsort((priority, hit_entry))
            chosen_entries, at = np.unique(hit_entry[order], return_index=True)
            reason = np.full(wanted.size, -1, dtype=np.int32)
            reason[chosen_entries] = candidate[order[at]]
            out[sl] = np.where(wanted >= 0, reason.reshape(wanted.shape), -1)
        return out


def _strongest_first(similarity: sp.csr_matrix) -> sp.csr_matrix:
    """``similarity`` without its diagonal and links below MIN_LINK, each row's LINK_NEIGHBOURS
    largest, ordered by value, largest first (ties by column)."""
    s = sp.coo_matrix(similarity)
    keep = (s.row != s.col) & (s.data >= MIN_LINK)
    row, col, value = s.row[keep], s.col[keep], s.data[keep].astype(np.float32)
    order = np.lexsort((col, -value, row))
    row, col, value = row[order], col[order], value[order]
    starts = np.searchsorted(row, np.arange(s.shape[0]))
    strongest = (np.arange(len(row)) - starts[row]) < LINK_NEIGHBOURS
    row, col, value = row[strongest], col[strongest], value[strongest]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=s.shape[0]))])
    return sp.csr_matrix((value, col.astype(np.int32), indptr), shape=s.shape)


def reason_items(
    model: Recommender,
    users: np.ndarray,
    lists: ServedLists,
    history: sp.csr_matrix,
    *,
    recent: np.ndarray,
    links: Links,
    proposed: np.ndarray | None = None,
    ranked_by: np.ndarray | None = None,
) -> np.ndarray:
    """(n, k) index of each listed item's reason (``Links.choose``), -1 for none and for the
    popular items a short list was topped up with. ``history``: the user x item matrix (row
    ``users[r]`` is the r-th user's); ``recent``: (len(users), window) newest history items
    per user (``recent_history``), where the model looks for its proposal; ``proposed``: the
    proposals when the caller has them, else the model's ``explain`` (given ``ranked_by``,
    the entries' strongest features, for a model that ranks by them). A model that is not
    personal (popularity) gives no reasons: its lists do not come from the user's history."""
    if not model.personal:
        return np.full(lists.items.shape, -1, dtype=np.int32)
    if proposed is None:
        # ranked_by only for a model that ranks by features: a model's explain may take four arguments
        proposed = (
            model.explain(users, lists.items, history, recent)
            if ranked_by is None
            else model.explain(users, lists.items, history, recent, ranked_by=ranked_by)
        )
    out = links.choose(users, lists.items, history, np.asarray(proposed, dtype=np.int32))
    out[lists.filled] = -1
    return out
