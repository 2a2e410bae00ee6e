"""A version's precomputed lists, held in memory for lookups (the DuckDB tables stay the
record; this is a read-only index over them, built once when a version is opened).

A DuckDB point query per request, queued behind the others in flight, was what broke the
uncached p99 target (README, serving benchmark); a binary search over sorted arrays is cheap
enough to answer a cache miss on the event loop without a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from recommender.serving.ranked import RANKER
from recommender.warehouse.connection import SqlLibrary

NO_REASON = 0  # reason_movie_id sentinel written by load_recommendations.sql


@dataclass(frozen=True)
class PrecomputedLists:
    """One model's top-N lists for every known user.

    ``users`` is ascending (user ids); user ``users[i]`` owns rows ``starts[i]:starts[i+1]``
    of ``movie_ids`` / ``scores`` (NaN: popular top-up) / ``reasons`` (0: none), best first;
    ``personalised[i]``: whether the model filled any of them (a user who rated nothing at
    or above the threshold gets the popular top-up only); ``ranked_by``: the ranker's feature
    names ("": none), None for the other models.
    """

    users: np.ndarray
    starts: np.ndarray
    movie_ids: np.ndarray
    scores: np.ndarray
    reasons: np.ndarray
    personalised: np.ndarray
    ranked_by: np.ndarray | None = None

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, sql: SqlLibrary, model: str) -> PrecomputedLists:
        cols = con.sql(sql.text("version/load_recommendations.sql"), params={"model": model}).fetchnumpy()
        ranked_by = None
        if model == RANKER:
            ranked_by = np.asarray(con.sql(sql.text("version/ranked_by.sql")).fetchnumpy()["ranked_by"], dtype=object)
        user_col = np.asarray(cols["user_id"])
        users, starts = np.unique(user_col, return_index=True)  # rows are in user order
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
        )

    def __contains__(self, user_id: int) -> bool:
        return self._row(user_id) >= 0

    def _row(self, user_id: int) -> int:
        i = int(np.searchsorted(self.users, user_id))
        return i if i < len(self.users) and self.users[i] == user_id else -1

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
        ranked_by = self.ranked_by[lo:hi].tolist() if self.ranked_by is not None else [""] * int(hi - lo)
        return [
            (m, s, r if r != NO_REASON else None, f or None)
            for m, s, r, f in zip(
                self.movie_ids[lo:hi].tolist(), self.scores[lo:hi].tolist(), self.reasons[lo:hi].tolist(), ranked_by
            )
        ]
