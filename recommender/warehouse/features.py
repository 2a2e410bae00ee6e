"""Reading the feature store (sql/warehouse/migrations/012_feature_store.sql) for pairs."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from recommender.warehouse.connection import SqlLibrary, insert_arrow

#: The features pair_features.sql returns, in its column order (after row_id).
FEATURE_NAMES = (
    "positive_count", "recent_30d", "recent_90d", "recent_365d", "rating_count", "mean_rating",
    "release_year", "age_years", "genre_count", "user_rating_count", "user_positive_count",
    "user_mean_rating", "days_since_last", "active_days", "genre_affinity", "year_distance",
    "in_favourite_genre",
)  # fmt: skip


#: The tables materialize_features makes (pair_features.sql reads them, and ``catalog``).
FEATURE_TABLES = ("feature_items", "feature_users", "feature_shares", "feature_years", "feature_favourites")


def copy_features(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, target: duckdb.DuckDBPyConnection) -> None:
    """Copy the materialized feature tables of ``con`` into ``target`` (a version file), so
    that pair_features runs there as it does in the warehouse."""
    for name in FEATURE_TABLES:
        target.register(f"incoming_{name}", con.table(name).to_arrow_table())
    try:
        sql.run(target, "version/copy_features.sql")
    finally:
        for name in FEATURE_TABLES:
            target.unregister(f"incoming_{name}")


def materialize_features(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, strategy: str, upto: str) -> None:
    """Compute the feature tables as of ``strategy``'s history up to ``upto`` once (temporary
    tables of this connection); ``pair_features`` then reads them for any batch of pairs."""
    sql.run(con, "warehouse/features/materialize.sql", {"strategy": strategy, "upto": upto})


def pair_features(
    con: duckdb.DuckDBPyConnection, sql: SqlLibrary, strategy: str, upto: str, user_ids, movie_ids,
    *, materialized: bool = False,
) -> np.ndarray:
    """(n, len(FEATURE_NAMES)) float32 features of the (user, movie) pairs (MovieLens ids) as of
    the history of ``strategy``'s parts up to ``upto``; NaN where a value is missing.
    ``materialized``: the feature tables of that history are already made (materialize_features)."""
    if not materialized:  # (a version file holds them already: strategy and upto unused)
        materialize_features(con, sql, strategy, upto)
    pairs = pa.table({
        "row_id": np.arange(len(user_ids), dtype=np.int64),
        "user_id": np.asarray(user_ids, dtype=np.int32),
        "movie_id": np.asarray(movie_ids, dtype=np.int32),
    })
    sql.run(con, "warehouse/features/create_pairs.sql")
    insert_arrow(con, "ranker_pairs", pairs)
    table = sql.arrow(con, "warehouse/features/pair_features.sql")
    return np.column_stack(
        [table.column(name).to_numpy(zero_copy_only=False).astype(np.float32) for name in FEATURE_NAMES]
    ) if len(user_ids) else np.zeros((0, len(FEATURE_NAMES)), np.float32)
