"""Arrow and CSR exports of a split, the only way model code sees the warehouse."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.errors import DataError
from recommender.sqlfiles import SqlLibrary

#: The part every positive lands in when the production data is loaded (fit and filter on it).
ALL_PARTS = ("train",)

PARTS = ("train", "val", "test")


_TOKENS = itertools.count()


@dataclass(frozen=True, eq=False)
class SplitData:
    """One split, in two id spaces.

    ``train``/``val``/``test`` are Arrow tables with MovieLens ids (user_id, movie_id, ts)
    and model indices (user_idx, item_idx), in no particular order. Matrices are
    user x item CSR in index space: row ``u`` is ``user_ids[u]``, column ``i`` is
    ``item_ids[i]``; both maps are sorted and cover exactly the train users/movies
    (val/test rows were already restricted to them by the split SQL).
    """

    strategy: str
    train: pa.Table
    val: pa.Table
    test: pa.Table
    user_ids: np.ndarray
    item_ids: np.ndarray
    #: Sub-threshold ratings in index space (user_idx, item_idx, part_code: 0 train, 1 val,
    #: 2 test = the period they fall in); never positives, but never to be recommended again.
    negatives: pa.Table | None = None
    #: Unique in this process, never reused: what caches of fits key on (an ``id()`` is
    #: reused once its object is gone).
    token: int = field(default_factory=lambda: next(_TOKENS))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)

    def part(self, name: str) -> pa.Table:
        if name not in PARTS:
            raise ValueError(f"unknown split part {name!r}; expected one of {PARTS}")
        return getattr(self, name)

    def user_index(self, user_ids) -> np.ndarray:
        """MovieLens user ids -> row indices (-1 where unknown)."""
        return _lookup(self.user_ids, np.asarray(user_ids))

    def item_index(self, movie_ids) -> np.ndarray:
        """MovieLens movie ids -> column indices (-1 where unknown)."""
        return _lookup(self.item_ids, np.asarray(movie_ids))

    def matrix(self, *parts: str) -> sp.csr_matrix:
        """Binary user x item CSR (float32) of the union of ``parts``."""
        return self._matrix(tuple(parts), "ones")

    def excluded(self, *parts: str) -> sp.csr_matrix:
        """Binary user x item CSR of every movie a user had rated by the end of ``parts``: the
        positives of those parts and the sub-threshold ratings of their periods. What lists
        built on ``matrix(*parts)`` must leave out."""
        return self._matrix(tuple(parts), "rated")

    def time_matrix(self, *parts: str) -> sp.csr_matrix:
        """Same structure as ``matrix(*parts)``, holding each interaction's Unix time (float64)."""
        return self._matrix(tuple(parts), "ts")

    def sample_users(self, n: int, seed: int, among: np.ndarray | None = None) -> SplitData:
        """The same split restricted to ``n`` users drawn at random (seeded) from ``among``
        (user indices; default every user), re-indexed 0..n-1 in id order; the item space is
        unchanged. Itself when there are no more than n to draw from and no ``among``."""
        pool = np.arange(len(self.user_ids)) if among is None else np.asarray(among)
        if len(pool) <= n and among is None:
            return self
        size = min(n, len(pool))
        keep = np.sort(np.random.default_rng(seed).choice(pool, size=size, replace=False))
        n = size
        new_index = np.full(len(self.user_ids), -1, dtype=np.int32)
        new_index[keep] = np.arange(n, dtype=np.int32)

        def restrict(table: pa.Table | None) -> pa.Table | None:
            if table is None:
                return None
            index = new_index[table.column("user_idx").to_numpy()]
            mask = index >= 0
            columns = {name: table.column(name).to_numpy()[mask] for name in table.column_names}
            columns["user_idx"] = index[mask]
            return pa.table(columns)

        return SplitData(
            strategy=self.strategy,
            train=restrict(self.train),
            val=restrict(self.val),
            test=restrict(self.test),
            user_ids=self.user_ids[keep],
            item_ids=self.item_ids,
            negatives=restrict(self.negatives),
        )

    @functools.cache
    def _matrix(self, parts: tuple[str, ...], values: str) -> sp.csr_matrix:
        if values == "rated":
            positives = self._matrix(parts, "ones")
            if self.negatives is None or self.negatives.num_rows == 0:
                return positives
            codes = self.negatives.column("part_code").to_numpy()
            mask = np.isin(codes, [PARTS.index(p) for p in parts])
            rows = self.negatives.column("user_idx").to_numpy()[mask]
            cols = self.negatives.column("item_idx").to_numpy()[mask]
            negatives = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=self.shape)
            rated = (positives + negatives).tocsr()
            rated.data[:] = 1.0  # a pair is one or the other, never both; stay binary regardless
            return rated
        tables = [self.part(p) for p in parts]
        rows = np.concatenate([t.column("user_idx").to_numpy() for t in tables])
        cols = np.concatenate([t.column("item_idx").to_numpy() for t in tables])
        if values == "ones":
            data = np.ones(len(rows), dtype=np.float32)
        else:
            data = np.concatenate([t.column("ts").to_numpy() for t in tables]).astype(np.float64)
        # COO -> CSR is a counting sort by row (linear), and leaves indices sorted
        return sp.csr_matrix((data, (rows, cols)), shape=self.shape)


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1).astype(np.int64)


def load_split(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, strategy: str) -> SplitData:
    """Read ``strategy``'s kept rows from ``split_interactions`` (no Python row loops)."""
    rows = sql.arrow(con, "warehouse/splits/export.sql", {"strategy": strategy})
    # NumPy masks over whole columns: much faster than Arrow filters over many small chunks
    columns = {name: rows.column(name).to_numpy() for name in rows.column_names}
    codes = columns.pop("part_code")
    tables = {}
    for code, part in enumerate(PARTS):
        mask = codes == code
        tables[part] = pa.table({name: values[mask] for name, values in columns.items()})
    train = tables["train"]
    if train.num_rows == 0:
        raise DataError(f"split {strategy!r} has no train rows; run `recsys ingest DIR` (or `recsys split`) first")
    user_ids = _scatter(train.column("user_idx"), train.column("user_id"))
    item_ids = _scatter(train.column("item_idx"), train.column("movie_id"))
    negatives = sql.arrow(con, "warehouse/splits/export_negatives.sql", {"strategy": strategy})
    return SplitData(strategy=strategy, user_ids=user_ids, item_ids=item_ids,
                     negatives=_indexed_negatives(negatives, user_ids, item_ids), **tables)


def load_production(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, threshold: float) -> SplitData:
    """Every rating now in the warehouse, for the production refit: every positive (latest
    rating >= ``threshold``) as the ``train`` part, empty val/test, and every other rated
    pair as a negative of ``train``.

    Users: everyone who rated anything (a user without positives gets an empty row, and the
    popular fallback excluding what they rated); items: every movie with a positive.
    """
    rows = sql.arrow(con, "warehouse/splits/export_all.sql", {"threshold": threshold})
    positive = rows.column("positive").to_numpy(zero_copy_only=False)
    users, movies = rows.column("user_id").to_numpy(), rows.column("movie_id").to_numpy()
    if not positive.any():
        raise DataError("the warehouse has no positive ratings; run `recsys ingest DIR` (or `recsys split`) first")
    user_ids = np.unique(users)
    item_ids = np.unique(movies[positive])
    user_idx = np.searchsorted(user_ids, users).astype(np.int32)
    item_idx = _lookup(item_ids, movies).astype(np.int32)
    ts = rows.column("ts").to_numpy()
    keep = positive
    train = pa.table({"user_idx": user_idx[keep], "item_idx": item_idx[keep], "user_id": users[keep],
                      "movie_id": movies[keep], "ts": ts[keep]})
    neg = ~positive & (item_idx >= 0)  # a movie nobody liked is never recommended anyway
    negatives = pa.table({"user_idx": user_idx[neg], "item_idx": item_idx[neg],
                          "part_code": np.zeros(int(neg.sum()), np.uint8)})
    empty = train.slice(0, 0)
    return SplitData(strategy="all", train=train, val=empty, test=empty, user_ids=user_ids.astype(np.int64),
                     item_ids=item_ids.astype(np.int64), negatives=negatives)


def _indexed_negatives(rows: pa.Table, user_ids: np.ndarray, item_ids: np.ndarray) -> pa.Table:
    """Sub-threshold (user_id, movie_id, part_code) rows in a split's index space; pairs
    outside it (a user or movie the split's train never saw) are dropped."""
    user_idx = _lookup(user_ids, rows.column("user_id").to_numpy())
    item_idx = _lookup(item_ids, rows.column("movie_id").to_numpy())
    keep = (user_idx >= 0) & (item_idx >= 0)
    return pa.table({"user_idx": user_idx[keep].astype(np.int32), "item_idx": item_idx[keep].astype(np.int32),
                     "part_code": rows.column("part_code").to_numpy()[keep]})


def _scatter(index: pa.ChunkedArray, ids: pa.ChunkedArray) -> np.ndarray:
    """ids placed at their index: the index -> MovieLens id map."""
    idx = index.to_numpy()
    out = np.zeros(int(idx.max()) + 1 if len(idx) else 0, dtype=np.int64)
    out[idx] = ids.to_numpy()
    return out


def load_item_genres(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, item_ids: np.ndarray) -> tuple[sp.csr_matrix, list[str]]:
    """(n_items, n_genres) multi-hot genre matrix in the index space of ``item_ids``, and the
    genre names (column order). Movies without genres get an all-zero row."""
    pairs = sql.arrow(con, "warehouse/catalog/item_genres.sql")
    names = sorted(set(pairs.column("genre").to_pylist()))
    rows = _lookup(np.asarray(item_ids), pairs.column("movie_id").to_numpy())
    cols = np.searchsorted(names, pairs.column("genre").to_numpy(zero_copy_only=False)) if names else np.array([], int)
    keep = rows >= 0
    matrix = sp.csr_matrix(
        (np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])), shape=(len(item_ids), len(names))
    )
    matrix.data[:] = 1.0  # a genre listed twice still counts once
    return matrix, names


def load_item_years(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, item_ids: np.ndarray) -> np.ndarray:
    """(n_items,) float64 release years in the index space of ``item_ids``, NaN where unknown."""
    movies = sql.arrow(con, "warehouse/catalog/movies.sql")
    rows = _lookup(np.asarray(item_ids), movies.column("movie_id").to_numpy())
    years = movies.column("year").to_numpy(zero_copy_only=False).astype(np.float64)  # null: NaN
    out = np.full(len(item_ids), np.nan)
    out[rows[rows >= 0]] = years[rows >= 0]
    return out
