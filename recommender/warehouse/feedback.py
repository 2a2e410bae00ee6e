"""`recsys ingest-feedback`: copy ratings posted to the API into the warehouse.

They land in ``feedback_ratings`` as their own source; the ``ratings`` view puts them beside
the CSVs', so ``interactions`` and the splits use them like any rating (the latest rating
per (user, movie) wins). The copy is idempotent: it asks the store only for ratings past the
highest ``seq`` the warehouse has from it, and skips any (store, seq) already present.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from recommender.words import plural
from recommender.feedback import PAGE, FeedbackError, FeedbackSource
from recommender.warehouse.connection import transaction
from recommender.sqlfiles import SqlLibrary


@dataclass(frozen=True)
class FeedbackIngest:
    store_id: str
    added: int
    users: int
    watermark: int


def ingest_feedback(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, source: FeedbackSource,
                    say: Callable[[str], None] = lambda m: None) -> FeedbackIngest:
    """Copy every rating of ``source`` past the warehouse's watermark, in one transaction."""
    store_id = source.store_id
    after = sql.run(con, "warehouse/ingest/feedback_watermark.sql", {"store_id": store_id}).fetchall()[0][0]
    ingest_id = uuid.uuid4().hex[:12]
    added, users = 0, set()
    with transaction(con):
        while page := source.since(after, PAGE):
            table = pa.table({
                "seq": pa.array([r.seq for r in page], pa.int64()),
                "user_id": pa.array([r.user_id for r in page], pa.int32()),
                "movie_id": pa.array([r.movie_id for r in page], pa.int32()),
                "rating": pa.array([r.rating for r in page], pa.float32()),
                "ts": pa.array([r.ts for r in page], pa.int64()),
            })
            con.register("new_feedback", table)
            try:
                inserted = sql.run(con, "warehouse/ingest/feedback_insert.sql",
                                   {"store_id": store_id, "ingest_id": ingest_id}).fetchall()[0][0]
            finally:
                con.unregister("new_feedback")
            added += inserted
            users.update(np.unique(table.column("user_id").to_numpy()).tolist())
            after = page[-1].seq
            if source.store_id != store_id:  # a server restarted on another file mid-copy
                raise FeedbackError(f"the feedback store changed during the copy ({store_id} -> "
                                    f"{source.store_id}); nothing was copied, run it again")
            if len(page) < PAGE:
                break
    say(f"feedback store {store_id}: {plural(added, 'new rating')} from {plural(len(users), 'user')} "
        f"(copied up to seq {after})")
    return FeedbackIngest(store_id, added, len(users), after)
