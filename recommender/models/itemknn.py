"""Item-based k-nearest-neighbours with cosine similarity (`implicit`'s CosineRecommender).

Two scoring rules over the same stored similarities ``S`` (row ``i``: item ``i``'s neighbours,
the ``neighbours`` largest cosines on binary data, the item itself included, as `implicit`
keeps them):

- ``scoring_neighbours=None`` (`implicit`'s rule): score(u, j) = sum of ``S[i, j]`` over the
  user's history items ``i``; the neighbourhood is chosen per history item, at fit time.
- ``scoring_neighbours=m`` (LensKit's ``ItemKNNScorer`` with ``feedback="implicit"``): only
  the ``m`` largest ``S[i, j]`` among the user's history items count; the neighbourhood is
  chosen per candidate, at scoring time, from the user's own history.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import CosineRecommender, NearestNeighboursScorer
from implicit.utils import ParameterWarning

from recommender.models._implicit import as_user_items
from recommender.models.base import Params, Recommender
from recommender.sparse import csr_contains, csr_values, row_lengths

#: (user, history item, neighbour) triples the scoring-time rule sorts at once: bounds its
#: memory (about 40 bytes each at the peak; a user with more is scored alone). Batches that
#: fit the CPU caches sort faster: 0.5M took 1.1 s for all ml-latest-small users with every
#: similarity kept, 4M 1.6 s, 8M 2.0 s.
TRIPLES_PER_BATCH = 500_000
_LOW32 = np.uint64(0xFFFFFFFF)
#: Users per batch in ``explain`` (bounds its dense batch x items history mask: ~30 MB).
EXPLAIN_BATCH = 512
#: The recent-history window ``explain`` is usually given (the lists' REASON_WINDOW): with more
#: neighbours per item than this, it looks pairs up instead of walking rows.
REASON_WINDOW_HINT = 200


@dataclass(frozen=True)
class ItemKNNParams(Params):
    #: Similarities kept per item at fit time, the item itself included (`implicit`'s ``K``,
    #: LensKit's ``save_nbrs``); None keeps every non-zero one.
    neighbours: int | None = 100
    #: None: a candidate's score sums its similarities to every history item (as `implicit`).
    #: m: only the m largest of them count (LensKit's ``max_nbrs``, default 20 there).
    scoring_neighbours: int | None = None
    #: Stored similarities below this are dropped at fit time (LensKit's ``min_sim``). Cosines
    #: of binary data are at least 1 / sqrt(n_a * n_b) when two items share a user, so values
    #: up to 1/600 or so drop nothing on ml-latest-small.
    min_similarity: float = 0.0

    def __post_init__(self) -> None:
        if self.neighbours is not None and self.neighbours < 1:
            raise ValueError("neighbours must be >= 1 or None")
        if self.scoring_neighbours is not None and self.scoring_neighbours < 1:
            raise ValueError("scoring_neighbours must be >= 1 or None")
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError("min_similarity must be in [0, 1]")


#: Batches of at most this many users may take the dense scoring path (see _candidates).
FEW_USERS = 8


class ItemKNN(Recommender):
    name = "itemknn"
    Params = ItemKNNParams
    params: ItemKNNParams
    # None keeps every similarity (it wins on val on some editions): only the choices whose
    # similarities fit within tuning's MAX_SIMILARITIES are tried; scoring_neighbours None is
    # implicit's rule, a number LensKit's (see the module's docstring)
    search_space = {"neighbours": [20, 50, 100, 200, 500, 1000, None], "scoring_neighbours": [None, 50]}
    # every configuration; on a tuning sample, its affordable grid in 6 trials
    trials = 14
    sampled_trials = 6

    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> ItemKNN:
        # implicit >= 0.5 takes user x item: an item x user matrix here would silently
        # learn user-user similarities (a test guards this)
        user_items = as_user_items(user_items)
        self.model_ = CosineRecommender(K=self._k(user_items.shape[1]), num_threads=self.threads)
        if self.params.neighbours is None:
            # every pair: one sparse product (implicit's per-row top-K heap is ~30x slower here)
            sim = all_cosines(user_items)
        else:
            with warnings.catch_warnings():
                # implicit converts its own normalised copy to COO internally and warns about it
                warnings.filterwarnings("ignore", category=ParameterWarning, message=".*coo_matrix.*")
                self.model_.fit(user_items, show_progress=False)
            sim = self.model_.similarity
        if self.params.min_similarity > 0:
            sim = sim.tocsr()
            sim.data[sim.data < self.params.min_similarity] = 0
            sim.eliminate_zeros()
        self._set_similarity(sim)
        self.n_items = user_items.shape[1]
        return self

    @property
    def candidates_filter(self) -> str:  # type: ignore[override]
        # the scoring-time rule leaves out every excluded item; implicit's scorer the history
        return "history" if self.params.scoring_neighbours is None else "exclude"

    def _k(self, n_items: int) -> int:
        return n_items if self.params.neighbours is None else self.params.neighbours

    def _set_similarity(self, sim: sp.csr_matrix) -> None:
        self._index: ScoringIndex | None = None  # the scoring-time rule's view of it, built on first use
        self._sorted: sp.csr_matrix | None = None  # similarity_between's copy, rows sorted by column
        self._by_value: sp.csr_matrix | None = None  # similar_items' copy, rows ordered by value
        self._voters: sp.csr_matrix | None = None  # explain's: row w holds S[h, w] over h, largest first
        self.model_.similarity = sim
        self.model_.scorer = NearestNeighboursScorer(sim)  # as implicit's own fit() and load()

    def _candidates(self, users, history, n, exclude):
        if self.params.scoring_neighbours is not None:
            if self._index is None:
                self._index = ScoringIndex(self.model_.similarity)
            return scoring_time_candidates(self._index, history, exclude, n, self.params.scoring_neighbours)
        if len(users) <= FEW_USERS and exclude.nnz > len(users) * self.n_items // 8:
            return self._dense_candidates(history, n, exclude)
        # implicit's scorer, one user at a time, from the history alone (its weights are all 1):
        # items rated below the threshold are filtered by ``recommend``'s rounds afterwards, which
        # costs less than walking their neighbour lists with weight 0 (they are half the ratings).
        # The rows are handed over as views: implicit's own batch call builds a scipy row per user.
        ids = np.full((len(users), n), -1, dtype=np.int32)
        scores = np.zeros((len(users), n), dtype=np.float32)
        indptr, indices = history.indptr, history.indices
        ones = np.ones(max(1, int(row_lengths(history).max(initial=0))), dtype=np.float32)
        bounds = np.zeros(2, dtype=indptr.dtype)
        scorer = self.model_.scorer
        for r in range(len(users)):
            start, stop = indptr[r], indptr[r + 1]
            bounds[1] = stop - start
            found, found_scores = scorer.recommend(
                bounds, indices[start:stop], ones[: stop - start], K=n, remove_own_likes=True
            )
            ids[r, : len(found)], scores[r, : len(found)] = found, found_scores
        # an item with no vote from the history scores 0 (implicit pads with item 0, score 0)
        return np.where(scores > 0, ids, -1), scores

    @property
    def scores_every_item(self) -> bool:  # type: ignore[override]
        return self.params.scoring_neighbours is None  # the scoring-time rule has no dense form here

    def score_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Every item's neighbour sum over each row's history, -inf where no neighbour votes
        (the default rule)."""
        if not self.scores_every_item:
            return super().score_rows(users, history)
        sim = self.model_.similarity
        scores = np.empty(history.shape, dtype=np.float32)
        for r in range(history.shape[0]):  # a few rows (requests): one bincount over their neighbours
            items = history.indices[history.indptr[r] : history.indptr[r + 1]]
            starts = sim.indptr[items]
            lengths = sim.indptr[items + 1] - starts
            at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
            scores[r] = np.bincount(sim.indices[at], weights=sim.data[at], minlength=history.shape[1])
        scores[scores <= 0] = -np.inf  # never a neighbour's vote
        return scores

    def _dense_candidates(self, history, n, exclude):
        """The same rule for a few rows whose exclusions cover much of the catalogue (a filter at
        request time): every item's neighbour sum at once, excluded and vote-less items dropped."""
        scores = self.score_rows(np.arange(history.shape[0]), history)
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = -np.inf
        n = min(n, scores.shape[1])
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)
        return np.where(np.isfinite(top_scores), top, -1), top_scores

    @property
    def similarity(self) -> sp.csr_matrix:
        """(n_items, n_items) stored similarities: row ``i`` holds item ``i``'s neighbours (what
        a history item votes for), itself included."""
        self._require_fitted()
        return self.model_.similarity.tocsr()

    def cosine_neighbours(self, n: int, min_cosine: float) -> sp.csr_matrix | None:
        """The stored similarity (cosines on binary data) when it keeps more than ``n`` per row
        (the item itself is one of them) and drops nothing at or above ``min_cosine``."""
        keeps = self.params.neighbours is None or self.params.neighbours > n
        return self.similarity if keeps and self.params.min_similarity <= min_cosine else None

    def similarity_between(self, items: np.ndarray, others: np.ndarray) -> np.ndarray:
        """float32 stored similarity ``S[items[j], others[j]]`` (index space, same shapes): how
        much history item ``items[j]`` votes for ``others[j]``; 0 where it is not among the
        neighbours kept."""
        self._require_fitted()
        if self._sorted is None:
            self._sorted = self.model_.similarity.tocsr().sorted_indices()
        return csr_values(self._sorted, items, others)

    def explain(self, users, items, history, recent, ranked_by=None):
        """The recent history item with the largest similarity to each recommended item (its
        exact share of the score), among the user's ``recent`` items."""
        out = np.full(np.shape(items), -1, dtype=np.int32)
        long_rows = self.params.neighbours is None or self.params.neighbours > recent.shape[1]
        for start in range(0, len(users), EXPLAIN_BATCH):
            sl = slice(start, start + EXPLAIN_BATCH)
            wanted, hist = items[sl], recent[sl]
            if long_rows:  # look each (history item, recommendation) pair up: cheaper than long rows
                votes = self.similarity_between(np.maximum(hist, 0)[:, None, :], np.maximum(wanted, 0)[:, :, None])
                votes[np.broadcast_to((hist < 0)[:, None, :], votes.shape)] = 0
                best = np.argmax(votes, axis=2)
                found = np.take_along_axis(votes, best[:, :, None], axis=2)[:, :, 0] > 0
                reason = np.where(found, np.take_along_axis(hist, best, axis=1), -1)
            else:
                reason = self._first_neighbour_seen(wanted, hist)
            out[sl] = np.where(wanted >= 0, reason, -1)
        return out

    def _first_neighbour_seen(self, wanted: np.ndarray, hist: np.ndarray) -> np.ndarray:
        """For each of ``wanted`` ((b, k) items), the item of its row's ``hist`` ((b, w) items,
        -1 padded) that votes for it most (largest ``S[h, w]``); -1 for none."""
        by_value = self._voters_by_value()
        rows = by_value[np.where(wanted >= 0, wanted, 0).ravel()]
        entry_row = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        owner = entry_row // wanted.shape[1]  # the batch row (user) of each entry
        mask = np.zeros((hist.shape[0], by_value.shape[1]), dtype=bool)
        users, at = np.nonzero(hist >= 0)
        mask[users, hist[users, at]] = True
        # neighbours come best first in each row: the first one the user has seen is the reason
        hit = np.flatnonzero(mask[owner, rows.indices])
        first_rows, first = np.unique(entry_row[hit], return_index=True)
        reason = np.full(rows.shape[0], -1, dtype=np.int32)
        reason[first_rows] = rows.indices[hit[first]]
        return reason.reshape(wanted.shape)

    def prepare(self) -> None:
        self._similarity_by_value()
        if not (self.params.neighbours is None or self.params.neighbours > REASON_WINDOW_HINT):
            self._voters_by_value()
        if self._sorted is None:
            self._sorted = self.model_.similarity.tocsr().sorted_indices()
        if self.params.scoring_neighbours is not None and self._index is None:
            self._index = ScoringIndex(self.model_.similarity)

    def _voters_by_value(self) -> sp.csr_matrix:
        """The transposed similarity (row ``w``: how much each item votes for ``w``), each row's
        entries ordered by value, largest first (made once per fit)."""
        if self._voters is None:
            self._voters = _rows_by_value(self.similarity.T.tocsr())
        return self._voters

    def _similarity_by_value(self) -> sp.csr_matrix:
        """The similarity with each row's entries ordered by value, largest first (made once per fit)."""
        if self._by_value is None:
            self._by_value = _rows_by_value(self.similarity)
        return self._by_value

    def similar_items(self, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """((len(items), n) int32, (len(items), n) float32): the ``n`` items most similar to
        each of ``items`` (index space) by stored cosine, itself excluded, best first (ties in
        the similarity's storage order), -1 / NaN padded."""
        by_value = self._similarity_by_value()
        rows = by_value[np.asarray(items, dtype=np.int64)]
        owner = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        keep = rows.indices != np.asarray(items, dtype=np.int64)[owner]
        owner, neighbour, value = owner[keep], rows.indices[keep], rows.data[keep]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
        top = rank < n
        out = np.full((rows.shape[0], n), -1, dtype=np.int32)
        scores = np.full((rows.shape[0], n), np.nan, dtype=np.float32)
        out[owner[top], rank[top]] = neighbour[top]
        scores[owner[top], rank[top]] = value[top]
        return out, scores

    def _arrays(self) -> dict[str, np.ndarray]:
        sim = self.model_.similarity.tocsr()
        return {
            "sim_data": sim.data,
            "sim_indices": sim.indices,
            "sim_indptr": sim.indptr,
            "sim_shape": np.array(sim.shape),
        }

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        shape = tuple(int(s) for s in arrays["sim_shape"])
        self.model_ = CosineRecommender(K=self._k(shape[0]))
        self._set_similarity(
            sp.csr_matrix((arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]), shape=shape)
        )
        self.n_items = shape[0]


def all_cosines(user_items: sp.csr_matrix) -> sp.csr_matrix:
    """Item x item cosine of the columns of ``user_items``, every non-zero pair (the diagonal
    included, as `implicit` keeps it), float64 CSR with sorted indices."""
    norms = np.sqrt(np.asarray(user_items.multiply(user_items).sum(axis=0)).ravel())
    items_users = sp.csr_matrix(user_items.T.multiply(1.0 / np.maximum(norms, 1e-12)[:, None]), dtype=np.float64)
    sim = (items_users @ items_users.T).tocsr()
    sim.eliminate_zeros()
    sim.sort_indices()
    return sim


def scoring_time_candidates(
    sim: sp.csr_matrix | ScoringIndex, history: sp.csr_matrix, exclude: sp.csr_matrix, n: int, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``n`` (items, scores) per row of ``history``: score(r, j) = the sum of the ``m``
    largest ``sim[i, j]`` over the row's stored items ``i`` (their values ignored), for every
    ``j`` some history item has a stored similarity to; items in ``exclude[r]`` and scores
    <= 0 left out. ``-1`` / 0 padding; ties in score go to the lower item index.

    Vectorised over batches of users: the stored (user, item, similarity) triples, one sort
    per batch (by user, item, similarity descending, packed into one uint64 key), the first m
    of each (user, item) run summed. Cost grows with sum(history length x neighbours kept)."""
    index = sim if isinstance(sim, ScoringIndex) else ScoringIndex(sim)
    n_rows, n_items = history.shape
    ids = np.full((n_rows, n), -1, dtype=np.int32)
    scores = np.zeros((n_rows, n), dtype=np.float32)
    if n_rows == 0 or history.nnz == 0 or len(index.packed) == 0:
        return ids, scores
    triples = np.bincount(
        np.repeat(np.arange(n_rows), row_lengths(history)), weights=index.row_nnz[history.indices], minlength=n_rows
    )
    # batches of consecutive rows holding up to TRIPLES_PER_BATCH triples (a heavier row alone),
    # and few enough rows that (row, item) fits 32 bits
    max_rows = max(1, (2**32 - 1) // n_items)
    start = 0
    while start < n_rows:
        cum = np.cumsum(triples[start : start + max_rows])
        stop = start + max(1, int(np.searchsorted(cum, TRIPLES_PER_BATCH, side="right")))
        batch = slice(start, stop)
        group, total = _top_m_sums(index, history[batch], m)
        owner, item = group // n_items, group % n_items
        keep = (total > 0) & ~csr_contains(exclude[batch], owner, item)
        ids[batch], scores[batch] = _top_n_per_row(owner[keep], item[keep], total[keep], stop - start, n)
        start = stop
    return ids, scores


class ScoringIndex:
    """The similarity matrix as the scoring-time rule reads it: per stored entry, one uint64
    ``column << 32 | similarity rank key`` (descending similarity sorts first)."""

    def __init__(self, sim: sp.csr_matrix) -> None:
        sim = sp.csr_matrix(sim)
        self.indptr = sim.indptr.astype(np.int64)
        self.row_nnz = np.diff(self.indptr)
        self.packed = (sim.indices.astype(np.uint64) << np.uint64(32)) | (_LOW32 - _sortable(sim.data))


def _top_m_sums(index: ScoringIndex, history: sp.csr_matrix, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(group, sum) for every (row r, item j) reached: group = r * n_items + j, sum = the m
    largest sim[i, j] over the row's history items i. Groups ascending."""
    n_items = history.shape[1]
    lengths = index.row_nnz[history.indices]
    n_triples = int(lengths.sum())
    if n_triples == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    # every neighbour entry of every history item, row-major, its owner row added on top
    at = np.repeat(index.indptr[history.indices] - (np.cumsum(lengths) - lengths), lengths)
    at += np.arange(n_triples)
    key = index.packed[at]
    del at
    owner = np.arange(history.shape[0], dtype=np.uint64) * (np.uint64(n_items) << np.uint64(32))
    key += np.repeat(np.repeat(owner, row_lengths(history)), lengths)
    key.sort()
    group = key >> np.uint64(32)
    # sorted by group: a triple is among its group's first m iff the one m places before it
    # belongs to another group
    top = np.ones(len(key), dtype=bool)
    np.not_equal(group[m:], group[:-m], out=top[m:])
    top = np.flatnonzero(top)
    group = group[top]
    values = _unsortable(_LOW32 - (key[top] & _LOW32))
    head = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    sums = np.add.reduceat(values.astype(np.float64), head)
    return group[head].astype(np.int64), sums.astype(np.float32)


def _top_n_per_row(owner: np.ndarray, item: np.ndarray, score: np.ndarray, n_rows: int, n: int):
    """(n_rows, n) items and scores, best first, from (owner row, item, score) entries."""
    ids = np.full((n_rows, n), -1, dtype=np.int32)
    scores = np.zeros((n_rows, n), dtype=np.float32)
    if not len(owner):
        return ids, scores
    # by row, then score descending; a stable sort keeps the (ascending) item order on ties
    key = (owner.astype(np.uint64) << np.uint64(32)) | (_LOW32 - _sortable(score))
    order = np.argsort(key, kind="stable")
    owner, item, score = owner[order], item[order], score[order]
    head = np.searchsorted(owner, np.arange(n_rows))
    rank = np.arange(len(owner)) - head[owner]
    keep = rank < n
    ids[owner[keep], rank[keep]] = item[keep]
    scores[owner[keep], rank[keep]] = score[keep]
    return ids, scores


def _sortable(values: np.ndarray) -> np.ndarray:
    """float32 -> uint64 (low 32 bits) in the same order: sign bit flipped for positives,
    all bits for negatives."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return np.where(bits >> 31, ~bits, bits | np.uint32(0x80000000)).astype(np.uint64)


def _unsortable(keys: np.ndarray) -> np.ndarray:
    bits = keys.astype(np.uint32)
    return np.where(bits >> 31, bits & np.uint32(0x7FFFFFFF), ~bits).view(np.float32)


def _rows_by_value(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` with each row's entries ordered by value, largest first."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    return sp.csr_matrix((matrix.data[order], matrix.indices[order], matrix.indptr), shape=matrix.shape)
