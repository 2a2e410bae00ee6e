"""Reading the feature store (sql/warehouse/migrations/012_feature_store.sql) for pairs."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.connection import insert_arrow

#: The features pair_features.sql returns, in its column order (after row_id).
FEATURE_NAMES = (
    "positive_count", "recent_30d", "recent_90d", "recent_365d", "trend_90d", "rating_count", "mean_rating",
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


def visitor_features(
    features: np.ndarray,
    liked: Sequence[np.ndarray],
    picked: np.ndarray,
    row: np.ndarray,
    item: np.ndarray,
    item_genres: sp.csr_matrix,
    item_years: np.ndarray,
) -> np.ndarray:
    """``features`` ((pairs, len(FEATURE_NAMES)), as ``pair_features`` reads them for a user the
    feature store does not know) with the user's columns and the pair's made from a visitor's
    picks, by the feature store's own rules: ``liked[v]`` the item indices visitor ``v`` liked
    (their positives), ``picked[v]`` how many movies they rated in all; pair ``j`` is visitor
    ``row[j]`` with item ``item[j]``. No rating values: no mean rating; picked just now: 0 days
    since the last one and 0 active days. ``item_genres``: (n_items, n_genres) multi-hot, genres
    in name order; ``item_years``: (n_items,) release years, NaN where unknown."""
    out = np.array(features, dtype=np.float32, copy=True)
    column = FEATURE_NAMES.index
    lengths = np.array([len(items) for items in liked], dtype=np.int64)
    out[:, column("user_rating_count")] = np.asarray(picked)[row]
    out[:, column("user_positive_count")] = lengths[row]
    out[:, column("user_mean_rating")] = np.nan
    out[:, column("days_since_last")] = 0.0
    out[:, column("active_days")] = 0.0
    cols = np.concatenate([np.asarray(items, dtype=np.int64) for items in liked]) if len(liked) else np.zeros(0, int)
    liked_matrix = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (np.repeat(np.arange(len(liked)), lengths), cols)),
        shape=(len(liked), item_genres.shape[0]),
    )
    counts = np.asarray((liked_matrix @ item_genres).todense(), dtype=np.float64)  # (visitors, genres)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.round(np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0), 6)
    candidate_genres = item_genres[item]
    affinity = np.asarray(candidate_genres.multiply(shares[row]).sum(axis=1)).ravel()
    out[:, column("genre_affinity")] = np.round(affinity, 6)
    favourite = np.argmax(shares, axis=1)  # ties: the first genre by name, as the SQL rule
    has_favourite = totals[:, 0] > 0
    in_favourite = np.asarray(candidate_genres[np.arange(len(item)), favourite[row]]).ravel() > 0
    out[:, column("in_favourite_genre")] = (in_favourite & has_favourite[row]).astype(np.float32)
    typical = np.full(len(liked), np.nan)  # the median release year of the liked movies
    for v, items in enumerate(liked):
        years = item_years[np.asarray(items, dtype=np.int64)]
        years = years[~np.isnan(years)]
        if len(years):
            typical[v] = np.median(years)
    out[:, column("year_distance")] = np.abs(item_years[item] - typical[row])
    return out
