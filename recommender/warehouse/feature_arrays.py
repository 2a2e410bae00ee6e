"""The feature store's tables held in memory, for the ranker's lists at serving and publication.

``pair_features.sql`` stays the definition (the offline training reads it); ``FeatureArrays``
computes the same columns with numpy from the same materialized tables, so a ranker list
needs no DuckDB query. A test keeps the two equal, feature by feature, to the SQL's rounding.

Id space: MovieLens user and movie ids (what the tables hold), never model indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from recommender.warehouse.features import FEATURE_NAMES

#: The movie's columns (feature_items), the user's (feature_users), then the pair's.
ITEM_COLUMNS = FEATURE_NAMES[:10]
USER_COLUMNS = FEATURE_NAMES[10:15]
PAIR_COLUMNS = FEATURE_NAMES[15:]


def _floats(table: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    """(rows, len(names)) float32 of a table's columns, NaN where null (as pair_features reads them)."""
    if not table.num_rows:
        return np.zeros((0, len(names)), np.float32)
    return np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(np.float32) for n in names])


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``sorted_ids``, found) of every id; a position is 0 where not found."""
    at = np.searchsorted(sorted_ids, ids)
    at = np.minimum(at, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[at] == ids if len(sorted_ids) else np.zeros(len(ids), bool)
    return np.where(found, at, 0), found


@dataclass(frozen=True)
class FeatureArrays:
    """One history's feature tables as arrays. Movies: the catalogue (``movie_ids`` sorted),
    each with its feature_items row (NaN for a movie without ratings), genres and year. Users:
    feature_users' (``user_ids`` sorted), with their genre shares, favourite genre and
    typical year."""

    movie_ids: np.ndarray  # (n_movies,) int64, sorted
    items: np.ndarray  # (n_movies, len(ITEM_COLUMNS)) float32
    genres: np.ndarray  # (n_movies, n_genres) float64 0/1, genres by name
    years: np.ndarray  # (n_movies,) float64, NaN where unknown
    user_ids: np.ndarray  # (n_users,) int64, sorted
    users: np.ndarray  # (n_users, len(USER_COLUMNS)) float32
    shares: np.ndarray  # (n_users, n_genres) float64: share of the user's positives per genre
    favourite: np.ndarray  # (n_users,) genre column of the favourite genre, -1 for none
    typical_year: np.ndarray  # (n_users,) float64: median year of the liked movies, NaN for none

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> FeatureArrays:
        """The tables ``materialize_features`` made (or a version file holds) and ``catalog``."""
        catalog = con.table("catalog").select("movie_id, year, genres").to_arrow_table()
        items = con.table("feature_items").to_arrow_table()
        users = con.table("feature_users").to_arrow_table()
        shares = con.table("feature_shares").to_arrow_table()
        favourites = con.table("feature_favourites").to_arrow_table()
        years = con.table("feature_years").to_arrow_table()

        movie_genres = catalog.column("genres").to_pylist()
        names = sorted(
            {g for genres in movie_genres for g in genres or ()}
            | set(shares.column("genre").to_pylist())
            | {g for g in favourites.column("favourite_genre").to_pylist() if g is not None}
        )
        genre_at = {g: i for i, g in enumerate(names)}

        movie_ids = catalog.column("movie_id").to_numpy().astype(np.int64)
        order = np.argsort(movie_ids, kind="stable")
        genres = np.zeros((len(movie_ids), len(names)))
        for row, movie_genres_of in enumerate(movie_genres):
            for g in movie_genres_of or ():
                genres[row, genre_at[g]] = 1.0
        movie_years = catalog.column("year").to_numpy(zero_copy_only=False).astype(np.float64)
        movie_ids, genres, movie_years = movie_ids[order], genres[order], movie_years[order]
        item_rows = np.full((len(movie_ids), len(ITEM_COLUMNS)), np.nan, np.float32)
        at, found = _lookup(movie_ids, items.column("movie_id").to_numpy().astype(np.int64))
        item_rows[at[found]] = _floats(items, ITEM_COLUMNS)[found]

        user_ids = users.column("user_id").to_numpy().astype(np.int64)
        order = np.argsort(user_ids, kind="stable")
        user_ids, user_rows = user_ids[order], _floats(users, USER_COLUMNS)[order]
        user_shares = np.zeros((len(user_ids), len(names)))
        at, found = _lookup(user_ids, shares.column("user_id").to_numpy().astype(np.int64))
        genre_cols = np.array([genre_at[g] for g in shares.column("genre").to_pylist()], dtype=np.int64)
        user_shares[at[found], genre_cols[found]] = shares.column("share").to_numpy()[found]
        favourite = np.full(len(user_ids), -1, np.int64)
        at, found = _lookup(user_ids, favourites.column("user_id").to_numpy().astype(np.int64))
        favourite_cols = np.array(
            [-1 if g is None else genre_at[g] for g in favourites.column("favourite_genre").to_pylist()], np.int64
        )
        favourite[at[found]] = favourite_cols[found]
        typical = np.full(len(user_ids), np.nan)
        at, found = _lookup(user_ids, years.column("user_id").to_numpy().astype(np.int64))
        typical[at[found]] = years.column("typical_year").to_numpy(zero_copy_only=False).astype(np.float64)[found]
        return cls(movie_ids, item_rows, genres, movie_years, user_ids, user_rows, user_shares, favourite, typical)

    def pairs(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """(n, len(FEATURE_NAMES)) float32 features of the (user, movie) pairs, as
        ``pair_features.sql`` computes them from the same tables; NaN where a value is missing."""
        user_ids = np.asarray(user_ids, dtype=np.int64)
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        out = np.full((len(user_ids), len(FEATURE_NAMES)), np.nan, np.float32)
        if not len(user_ids):
            return out
        if not len(self.movie_ids) or not len(self.user_ids):  # nothing to read: every value missing
            out[:, len(ITEM_COLUMNS) + len(USER_COLUMNS)] = 0.0  # no affinity
            out[:, -1] = 0.0  # no favourite genre
            return out
        m, movie_known = _lookup(self.movie_ids, movie_ids)
        u, user_known = _lookup(self.user_ids, user_ids)
        out[:, : len(ITEM_COLUMNS)] = np.where(movie_known[:, None], self.items[m], np.float32(np.nan))
        user_end = len(ITEM_COLUMNS) + len(USER_COLUMNS)
        out[:, len(ITEM_COLUMNS) : user_end] = np.where(user_known[:, None], self.users[u], np.float32(np.nan))
        # genre affinity: the user's shares summed over the movie's genres (0 for either unknown)
        genres = np.where(movie_known[:, None], self.genres[m], 0.0)
        shares = np.where(user_known[:, None], self.shares[u], 0.0)
        out[:, user_end] = np.round(np.einsum("ij,ij->i", genres, shares), 6)
        # year distance: to the median year of the user's liked movies (missing if either is)
        year = np.where(movie_known, self.years[m], np.nan)
        typical = np.where(user_known, self.typical_year[u], np.nan)
        out[:, user_end + 1] = np.abs(year - typical)
        # whether the movie has the user's favourite genre (0 without one)
        favourite = np.where(user_known, self.favourite[u], -1)
        has = favourite >= 0
        in_favourite = np.zeros(len(user_ids), np.float32)
        in_favourite[has] = genres[np.flatnonzero(has), favourite[has]]
        out[:, user_end + 2] = in_favourite
        return out
