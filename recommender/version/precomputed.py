"""A version's precomputed lists, held in memory for lookups (the DuckDB tables stay the
record; this is a read-only index over them, built once when a version is opened).

A DuckDB point query per request, queued behind the others in flight, was what broke the
uncached p99 target (docs/performance.md, serving); a binary search over sorted arrays is cheap
enough to answer a cache miss on the event loop without a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from recommender.names import RANKER
from recommender.sqlfiles import SqlLibrary

NO_REASON = 0  # reason_movie_id sentinel written by load_recommendations.sql


@dataclass(frozen=True)
class PrecomputedLists:
    """One model's top-N lists for every known user.

    ``users`` is ascending (user ids); user ``users[i]`` owns rows ``starts[i]:starts[i+1]``
    of ``movie_ids`` / ``scores`` (NaN: popular top-up) / ``reasons`` (0: none), best first;
    ``personalised[i]``: whether the model filled any of them (a user who rated nothing at
    or above the threshold gets the popular top-up only); ``ranked_by``: the ranker's feature
    name of each row as an index into ``feature_names`` ("" at the index of none), None for the
    other models (codes, not a Python string per row: a million rows would take ~75 MB).
    """

    users: np.ndarray
    starts: np.ndarray
    movie_ids: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    personalised: np.ndarray
    ranked_by: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, sql: SqlLibrary, model: str) -> PrecomputedLists:
        cols = con.sql(sql.text("version/load_recommendations.sql"), params={"model": model}).fetchnumpy()
        ranked_by, feature_names = None, ()
        if model == RANKER:
            names = con.sql(sql.text("version/ranked_by.sql")).fetchnumpy()["ranked_by"]
            if len(names) != len(cols["movie_id"]):  # the two queries must see the same rows
                raise ValueError(f"ranked_by has {len(names)} rows, the ranker's lists {len(cols['movie_id'])}")
            unique, ranked_by = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True)
            feature_names = tuple(unique.tolist())
        user_col = np.asarray(cols["user_id"])
        users, starts = np.unique(user_col, return_index=True)  # rows are in user order
        # int64 like the ids a request carries: searchsorted would cast an int32 array (every
        # user) to compare with a Python int, on every lookup
        users = users.astype(np.int64)
        from_model = np.asarray(cols["from_model"], dtype=bool)
        personalised = np.logical_or.reduceat(from_model, starts) if len(starts) else np.zeros(0, bool)
        return cls(
            users=users,
            starts=np.append(starts, len(user_col)).astype(np.int64),
            movie_ids=np.asarray(cols["movie_id"]),
            scores=np.asarray(cols["score"]),
            reasons=np.asarray(cols["reason_movie_id"]),
            personalised=personalised,
            ranked_by=ranked_by,
            feature_names=feature_names,
        )

    def __contains__(self, user_id: int) -> bool:
        return self._row(user_id) >= 0

    def _row(self, user_id: int) -> int:
        i = int(np.searchsorted(self.users, user_id))
        return i if i < len(self.users) and self.users[i] == user_id else -1

    def length(self, user_id: int) -> int:
        """Rows of the user's list (0 for an unknown user)."""
        i = self._row(user_id)
        return int(self.starts[i + 1] - self.starts[i]) if i >= 0 else 0

    def is_personalised(self, user_id: int) -> bool:
        i = self._row(user_id)
        return i >= 0 and bool(self.personalised[i])

    def of_user(self, user_id: int) -> list[tuple[int, float, int | None, str | None]]:
        """(movie_id, score, reason_movie_id or None, ranked_by or None) rows, best first; []
        for an unknown user."""
        i = self._row(user_id)
        if i < 0:
            return []
        lo, hi = self.starts[i], self.starts[i + 1]
        codes = self.ranked_by[lo:hi].tolist() if self.ranked_by is not None else None
        ranked_by = [self.feature_names[c] for c in codes] if codes is not None else [""] * int(hi - lo)
        return [
            (m, s, r if r != NO_REASON else None, f or None)
            for m, s, r, f in zip(
                self.movie_ids[lo:hi].tolist(), self.scores[lo:hi].tolist(), self.reasons[lo:hi].tolist(), ranked_by
            )
        ]
