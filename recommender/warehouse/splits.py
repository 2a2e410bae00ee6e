"""Materialising the splits: both time-based ones (logic in sql/migrations/004_splits.sql), the
per-user split's folds (015) and the protocol splits the settings ask for (020)."""

from __future__ import annotations

import duckdb

from recommender.config import Settings
from recommender.faults import failpoint
from recommender.warehouse.connection import transaction
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.jobs import write_settings


def build_splits(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> None:
    """Rebuild ``split_interactions`` and ``split_cutoffs`` for both strategies (and the per-user
    split's rolling-origin folds when ``settings.folds`` > 1), atomically."""
    # Row order inside the split tables carries no meaning; letting DuckDB write them
    # unordered makes the build faster and lighter.
    settings.require_partitions()
    con.execute("set preserve_insertion_order = false")
    with transaction(con):
        write_settings(con, sql, settings)
        failpoint("split:building")  # inside the transaction: the old splits stay until it commits
        per_user = {"unit": settings.holdout_unit, "val_holdout": settings.holdout_val, "test_holdout": settings.holdout_test}
        sql.run(
            con,
            "warehouse/splits/materialize.sql",
            {
                "val_q": settings.val_quantile,
                "test_q": settings.test_quantile,
                "val_start": settings.val_start,
                "test_start": settings.test_start,
                **per_user,
            },
        )
        # the rolling-origin folds 2..N of the per-user split, and the earlier ones whose val
        # windows label the ranker of the last evaluated fold (see two_stage)
        folds = settings.folds + settings.ranker_label_windows - 1 if settings.base_strategy == "per_user" else 1
        sql.run(con, "warehouse/splits/folds.sql", {"folds": folds, **per_user})
        protocol = {"seed": settings.seed, "random": settings.base_strategy == "random", "partitions": settings.partitions}
        sql.run(con, "warehouse/splits/protocols.sql", {**protocol, **per_user})
    con.execute("reset preserve_insertion_order")

