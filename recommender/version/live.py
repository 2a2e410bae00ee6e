"""Lists computed at request time from a version's production models: filtered by genre,
year or movie, pages past the precomputed length, and lists for anonymous visitors.

The precomputed tables answer every unfiltered first page. Everything else comes from the
same fitted models: a filtered list of a model that scores every item ranks those scores
among the matching movies (``_from_scores``); any other list runs the precomputed lists' own
function (``served_lists``) with the filter expressed as excluded items. Either way a filtered
list is the model's own ranking restricted to the filter (never the precomputed top-20
post-filtered), topped up with the most popular matching movies, and never holds a movie the
user rated.

Id space: ``user_ids[row]`` / ``item_ids[col]`` map the production matrices' rows and columns
to MovieLens ids; requests and answers use MovieLens ids.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import scipy.sparse as sp

from recommender.lists import explained
from recommender.lists.explained import ExplainedLists, ListInputs
from recommender.lists.reasons import REASON_WINDOW, Links
from recommender.lists.served import ServedLists
from recommender.models import ModelError, Popular, Recommender
from recommender.models import load as load_model
from recommender.models.ranker import SOURCES, TwoStageRanker, load_ranker
from recommender.names import RANKER
from recommender.version.format import HISTORY_FILE, IDS_FILE, LINKS_FILE, MODELS_DIR, RATED_FILE, model_file
from recommender.warehouse.features import visitor_features

#: Features of (user ids, movie ids) pairs from the version's feature store: (n, f) float32.
PairFeatures = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Filter:
    """What a request keeps: any of ``genres`` (empty: every genre), release years within
    ``year_min``..``year_max`` (a movie without a year is kept only when neither is set),
    and never a movie of ``exclude``."""

    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    exclude: tuple[int, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.genres or self.year_min is not None or self.year_max is not None or self.exclude)


@dataclass(frozen=True)
class UserList:
    """One list, best first, in MovieLens ids: ``scores`` NaN and ``personalised`` False where
    the popular top-up filled it; ``reasons`` 0 where there is none."""

    movie_ids: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    from_model: np.ndarray
    #: The ranker only: the feature that raised each entry most ("" for the top-up), or the
    #: name of the single model that answered a visitor in its place.
    features: np.ndarray | None = None


def save_state(
    folder: Path,
    artifacts: Mapping[str, Path],
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    history: sp.csr_matrix,
    times: sp.csr_matrix,
    rated: sp.csr_matrix,
) -> None:
    """Write what ``LiveModels.load`` reads into a version folder: every production model's
    artifact (hard-linked where the file system allows: they are immutable), the row and
    column ids, the positives with their times and every rated pair (npz, no pickle)."""
    (folder / MODELS_DIR).mkdir(exist_ok=True)
    for name, artifact in artifacts.items():
        target = model_file(folder, name)
        try:
            os.link(artifact, target)
        except OSError:  # another file system
            shutil.copyfile(artifact, target)
    np.savez(folder / IDS_FILE, user_ids=np.asarray(user_ids, np.int64), item_ids=np.asarray(item_ids, np.int64))
    stamped = sp.csr_matrix((times.data.astype(np.int64), history.indices, history.indptr), shape=history.shape)
    sp.save_npz(folder / HISTORY_FILE, stamped, compressed=False)
    flags = sp.csr_matrix((np.ones(rated.nnz, np.int8), rated.indices, rated.indptr), shape=rated.shape)
    sp.save_npz(folder / RATED_FILE, flags, compressed=False)


@dataclass(frozen=True)
class VersionState:
    """What ``save_state`` wrote, read back: row and column ids, the positives stamped with their
    Unix times (``times``) and every rated pair (``rated``), as CSR matrices (users x items)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    times: sp.csr_matrix
    rated: sp.csr_matrix

    @property
    def history(self) -> sp.csr_matrix:
        """The positives as a float32 0/1 matrix, what the models score from."""
        t = self.times
        return sp.csr_matrix((np.ones(t.nnz, np.float32), t.indices, t.indptr), shape=t.shape)


def read_state(folder: Path) -> VersionState:
    """A version folder's request-time state."""
    with np.load(folder / IDS_FILE, allow_pickle=False) as ids:
        user_ids, item_ids = ids["user_ids"], ids["item_ids"]
    return VersionState(
        user_ids, item_ids, sp.load_npz(folder / HISTORY_FILE).tocsr(), sp.load_npz(folder / RATED_FILE).tocsr()
    )


class LiveModels:
    """A version's production models in memory, with every user's history, for request-time lists."""

    def __init__(
        self,
        models: Mapping[str, Recommender],
        history_times: sp.csr_matrix,
        rated: sp.csr_matrix,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        item_genres: Mapping[int, tuple[str, ...]],
        item_years: Mapping[int, int | None],
        links: Links,
        pair_features: PairFeatures | None = None,
        visitor_model: str = RANKER,
    ) -> None:
        self.models = dict(models)
        self.links = links  # what every entry's reason is chosen from
        self.pair_features = pair_features
        #: Who answers a visitor's request for the ranker: the ranker, or the best single model
        #: when the ranker did not beat its sources on val users seen as visitors.
        self.visitor_model = visitor_model
        als = self.models.get("als")
        if als is not None:  # the re-rankers of the production ALS: one copy of it
            for model in self.models.values():
                model.share(als)
        self.times = history_times.tocsr()
        self.history = sp.csr_matrix(
            (np.ones(self.times.nnz, np.float32), self.times.indices, self.times.indptr), shape=self.times.shape
        )
        self.rated = rated.tocsr()
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.item_ids = np.asarray(item_ids, dtype=np.int64)
        self.column = {m: i for i, m in enumerate(self.item_ids.tolist())}
        self.fallback = Popular().fit(self.history)  # the precomputed lists' top-up rule
        names = sorted({g for genres in item_genres.values() for g in genres})
        self.genres = {g: np.zeros(len(self.item_ids), dtype=bool) for g in names}
        years = np.full(len(self.item_ids), np.nan)
        for i, movie_id in enumerate(self.item_ids.tolist()):
            for g in item_genres.get(movie_id, ()):
                self.genres[g][i] = True
            year = item_years.get(movie_id)
            years[i] = np.nan if year is None else year
        self.years = years
        # (n_items, n_genres) multi-hot, genres by name: a visitor's feature-store columns
        self.item_genres = sp.csr_matrix(
            np.column_stack([self.genres[g] for g in names]).astype(np.float32)
            if names
            else np.zeros((len(self.item_ids), 0), np.float32)
        )
        for model in self.models.values():  # made once here, for every request's view to share
            model.prepare()

    @classmethod
    def load(
        cls,
        folder: Path,
        names: Iterable[str],
        item_genres: Mapping[int, tuple[str, ...]],
        item_years: Mapping[int, int | None],
        pair_features: PairFeatures | None = None,
        visitor_model: str = RANKER,
    ) -> LiveModels:
        """The version folder's state and models. The two-stage ranker joins when the version
        holds it and ``pair_features`` reads the version's feature tables."""
        state = read_state(folder)
        models: dict[str, Recommender] = {name: load_model(model_file(folder, name)) for name in names}
        ranker_path = model_file(folder, RANKER)
        if pair_features is not None and ranker_path.exists():
            models[RANKER] = load_ranker(ranker_path)
        return cls(
            models, state.times, state.rated, state.user_ids, state.item_ids, item_genres, item_years,
            Links.load(folder / LINKS_FILE), pair_features, visitor_model if visitor_model in models else RANKER,
        )  # fmt: skip

    # -- inputs ------------------------------------------------------------------------
    def row_of(self, user_id: int) -> int:
        """The production row of a user, -1 for one the version does not know."""
        i = int(np.searchsorted(self.user_ids, user_id))
        return i if i < len(self.user_ids) and self.user_ids[i] == user_id else -1

    def allowed(self, query: Filter) -> np.ndarray | None:
        """Which items the filter keeps (None: all of them)."""
        keep = None
        if query.genres:
            keep = np.zeros(len(self.item_ids), dtype=bool)
            for g in query.genres:
                if g in self.genres:
                    keep |= self.genres[g]
        if query.year_min is not None or query.year_max is not None:
            lo = -np.inf if query.year_min is None else query.year_min
            hi = np.inf if query.year_max is None else query.year_max
            in_years = (self.years >= lo) & (self.years <= hi)  # NaN (no year) compares False
            keep = in_years if keep is None else keep & in_years
        return keep

    # -- lists -------------------------------------------------------------------------
    def user_list(
        self,
        name: str,
        n: int,
        *,
        user_id: int | None = None,
        liked: Iterable[int] = (),
        disliked: Iterable[int] = (),
        rated_since: Iterable[int] = (),
        query: Filter = Filter(),
    ) -> UserList:
        """The top-``n`` of model ``name`` for a known user (``user_id``: history and every
        rating of the version, plus ``rated_since``: movies rated after it was published) or
        for a visitor's picks (``liked`` is their history; ``liked`` and ``disliked`` are left
        out), restricted to ``query``."""
        row = -1 if user_id is None else self.row_of(user_id)
        liked, disliked = tuple(liked), tuple(disliked)
        if name == RANKER and row < 0 and self.visitor_model != RANKER:
            # the ranker did not beat its best source on val users seen as visitors:
            # the best single model answers, and every entry says so
            listed = self.user_list(
                self.visitor_model, n, user_id=user_id, liked=liked, disliked=disliked, rated_since=rated_since,
                query=query,
            )  # fmt: skip
            named = np.where(listed.from_model, self.visitor_model, "")
            return dataclasses.replace(listed, features=named)
        picked = list(dict.fromkeys(self.column[m] for m in liked if m in self.column))  # in the picks' order
        liked_cols = np.array(sorted(picked), dtype=np.int32)
        excluded = np.zeros(self.history.shape[1], dtype=bool)  # a mask: a filter may exclude most items
        if row >= 0:  # rows by slicing the arrays: scipy's indexing costs ~70 µs a row
            history = _csr_row(self.history, row)
            start, stop = self.times.indptr[row], self.times.indptr[row + 1]
            recent = _newest(self.times.indices[start:stop], self.times.data[start:stop])
            excluded[self.rated.indices[self.rated.indptr[row] : self.rated.indptr[row + 1]]] = True
        else:
            history = _row(liked_cols, self.history.shape[1])
            recent = np.full((1, REASON_WINDOW), -1, dtype=np.int64)  # the picks, last first
            newest = np.array(picked[::-1][:REASON_WINDOW], dtype=np.int64)
            recent[0, : len(newest)] = newest
            excluded[liked_cols] = True
        extra = list(disliked) + list(rated_since) + list(query.exclude)
        excluded[np.array([self.column[m] for m in extra if m in self.column], dtype=np.int64)] = True
        allowed = self.allowed(query)
        if allowed is not None:
            excluded |= ~allowed
        n = min(n, self.history.shape[1])
        exclude = _row(np.flatnonzero(excluded), self.history.shape[1])
        inputs = ListInputs(history, exclude, recent, self.fallback, self.links)
        one = np.zeros(1, dtype=np.int64)
        if name == RANKER:
            picks = len(picked) + len(set(disliked) - set(liked))
            visitor = None if row >= 0 else (liked_cols, picks)
            known = user_id if user_id is not None and row >= 0 else 0
            ranker = self._ranker_for(known, row, history, recent, visitor)
            return self._as_ids(explained.explained_lists(ranker, one, n, inputs))
        model = self.models[name].for_user(row, history)
        # a filter: the model's scores for every item, ranked among the matching ones (the
        # unfiltered lists keep the precomputed path, whose head a deep list must repeat exactly)
        lists = self._from_scores(model, history, excluded, n) if query.active else None
        if lists is None:
            lists = self._lists(model, n, inputs)
        return self._as_ids(explained.with_reasons(model, one, lists, inputs))

    def similar(self, movie_id: int, n: int) -> list[tuple[int, float]]:
        """(movie_id, cosine) of the ``n`` movies most similar to ``movie_id``: the ItemKNN
        model's neighbours, in the order of the version's ``similar_movies`` table, then the
        movie's strongest co-occurrence links it does not hold (``Links``: the same cosine,
        strongest first), so that a model that keeps few neighbours still fills deep pages.
        The list ends there ([] for an unknown movie)."""
        col = self.column.get(movie_id)
        if col is None:
            return []
        items, scores = self.models["itemknn"].similar_items(np.array([col]), n)
        keep = items[0] >= 0
        cols, cosines = items[0][keep].tolist(), scores[0][keep].astype(float).tolist()
        if len(cols) < n:
            links = self.links.strongest
            start, stop = links.indptr[col], links.indptr[col + 1]
            held = {col, *cols}
            for link, cosine in zip(links.indices[start:stop].tolist(), links.data[start:stop].tolist()):
                if len(cols) == n:
                    break
                if link not in held:
                    cols.append(link)
                    cosines.append(float(cosine))
        return list(zip(self.item_ids[cols].tolist(), cosines))

    def _ranker_for(
        self,
        user_id: int,
        row: int,
        history: sp.csr_matrix,
        recent: np.ndarray,
        visitor: tuple[np.ndarray, int] | None,
    ) -> TwoStageRanker:
        """The two-stage ranker as it answers one user (row 0 of ``history``): over their
        candidates from the production sources, with features from the version's feature store
        (a visitor has no user features: missing); ``recent``: their newest positives (1,
        window). ``visitor``: (liked items, number of picks) of a user the version does not know."""
        ranker = cast(TwoStageRanker, self.models[RANKER])  # (load_ranker made it)
        sources = {name: self.models[name].for_user(row, history) for name in SOURCES}
        read = self.pair_features
        if read is None:
            raise ModelError("this version serves the ranker without its feature store")

        def features(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
            stored = read(np.full(len(rows), user_id, dtype=np.int64), self.item_ids[items])
            if visitor is None:
                return stored
            liked, picks = visitor  # the feature store does not know them: their picks make their columns
            return visitor_features(stored, [liked], np.array([picks]), rows, items, self.item_genres, self.years)

        # a copy: the shared ranker stays as it is; its one row is this user's (or visitor's)
        return copy.copy(ranker).attach(sources, ranker.booster, features, recent)

    def _lists(self, model: Recommender, n: int, inputs: ListInputs) -> ServedLists:
        """The list pipeline's ranked lists for the one row; a re-ranker's list stays the
        re-ranking of its usual pool (ALS's top ``candidates``) however deep it is asked for,
        then goes on in ALS's order, so that every page of it is a slice of one list."""
        user = np.zeros(1, dtype=np.int64)
        pooled = model.pool_of()
        if pooled is None or n <= model.pool_size(0):  # pool_size(0): the pool's usual depth
            return explained.top_lists(model, user, n, inputs)[0]
        head = explained.top_lists(model, user, model.pool_size(0), inputs)[0]
        tail = explained.top_lists(pooled, user, n, inputs)[0]
        keep = head.items[0] >= 0
        rest = (tail.items[0] >= 0) & ~np.isin(tail.items[0], head.items[0][keep])
        items = np.concatenate([head.items[0][keep], tail.items[0][rest]])[:n]
        scores = np.concatenate([head.scores[0][keep], tail.scores[0][rest]])[:n]
        filled = np.concatenate([head.filled[0][keep], tail.filled[0][rest]])[:n]
        pad = n - len(items)
        return ServedLists(
            np.pad(items, (0, pad), constant_values=-1)[None, :].astype(np.int32),
            np.pad(scores, (0, pad), constant_values=np.nan)[None, :].astype(np.float32),
            np.pad(filled, (0, pad), constant_values=False)[None, :],
        )

    def _from_scores(
        self, model: Recommender, history: sp.csr_matrix, excluded: np.ndarray, n: int
    ) -> ServedLists | None:
        """The top ``n`` of the model's scores over the items not ``excluded`` (score
        descending, then item index), topped up with the most popular items left, as
        ``served_lists`` builds every list; None for a model without scores for every item."""
        if not model.scores_every_item:
            return None
        score = model.score_rows(np.zeros(1, dtype=np.int64), history)[0]
        ranked = np.flatnonzero(~excluded) if history.nnz else np.zeros(0, dtype=np.int64)
        ranked = ranked[np.isfinite(score[ranked])]
        if len(ranked) > n:  # the n best by (score, then lower movie index): ties at the cut too
            values = score[ranked]
            cut = np.partition(values, len(values) - n)[len(values) - n]
            above, tied = ranked[values > cut], ranked[values == cut]  # ranked is in index order
            ranked = np.concatenate([above, tied[: n - len(above)]])
        ranked = ranked[np.lexsort((ranked, -score[ranked]))]
        items = np.full(n, -1, dtype=np.int64)
        values = np.full(n, np.nan, dtype=np.float32)
        filled = np.zeros(n, dtype=bool)
        items[: len(ranked)], values[: len(ranked)] = ranked, score[ranked]
        if len(ranked) < n:  # the top-up: the most popular items the list may still hold
            unused = ~excluded
            unused[ranked] = False
            order = self.fallback.ranking_
            extra = order[unused[order]][: n - len(ranked)]
            items[len(ranked) : len(ranked) + len(extra)] = extra
            filled[len(ranked) : len(ranked) + len(extra)] = True
        return ServedLists(items[None, :].astype(np.int32), values[None, :], filled[None, :])

    def _as_ids(self, made: ExplainedLists) -> UserList:
        lists = made.lists
        items, keep = lists.items[0], lists.items[0] >= 0
        reason = made.reasons[0]
        return UserList(
            movie_ids=self.item_ids[items[keep]],
            scores=lists.scores[0][keep],
            reasons=np.where(reason[keep] >= 0, self.item_ids[np.maximum(reason[keep], 0)], 0),
            from_model=~lists.filled[0][keep],
            features=None if made.ranked_by is None else made.ranked_by[0][keep],
        )


def _newest(items: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(1, REASON_WINDOW) of ``items``, newest first by ``times``, -1 padded."""
    order = np.argsort(-times, kind="stable")[:REASON_WINDOW]
    out = np.full((1, REASON_WINDOW), -1, dtype=np.int64)
    out[0, : len(order)] = items[order]
    return out


def _csr_row(matrix: sp.csr_matrix, row: int) -> sp.csr_matrix:
    """Row ``row`` of a CSR matrix as a 1 x n CSR matrix (views of its arrays)."""
    start, stop = matrix.indptr[row], matrix.indptr[row + 1]
    return sp.csr_matrix(
        (matrix.data[start:stop], matrix.indices[start:stop], np.array([0, stop - start])), shape=(1, matrix.shape[1])
    )


def _row(cols: np.ndarray, n_items: int) -> sp.csr_matrix:
    """A 1 x n_items binary CSR row with ``cols`` (sorted, unique) set."""
    cols = np.asarray(cols, dtype=np.int32)
    return sp.csr_matrix((np.ones(len(cols), np.float32), cols, np.array([0, len(cols)])), shape=(1, n_items))
