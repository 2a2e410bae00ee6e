"""Arrow and CSR exports of a split, the only way model code sees the warehouse."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.warehouse.connection import SqlLibrary

PARTS = ("train", "val", "test")


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

    def time_matrix(self, *parts: str) -> sp.csr_matrix:
        """Same structure as ``matrix(*parts)``, holding each interaction's Unix time (float64)."""
        return self._matrix(tuple(parts), "ts")

    @functools.cache
    def _matrix(self, parts: tuple[str, ...], values: str) -> sp.csr_matrix:
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
    rows = sql.arrow(con, "splits/export.sql", {"strategy": strategy})
    # NumPy masks over whole columns: much faster than Arrow filters over many small chunks
    columns = {name: rows.column(name).to_numpy() for name in rows.column_names}
    codes = columns.pop("part_code")
    tables = {}
    for code, part in enumerate(PARTS):
        mask = codes == code
        tables[part] = pa.table({name: values[mask] for name, values in columns.items()})
    train = tables["train"]
    if train.num_rows == 0:
        raise ValueError(f"split {strategy!r} has no train rows; run `recsys ingest DIR` (or `recsys split`) first")
    return SplitData(
        strategy=strategy,
        user_ids=_scatter(train.column("user_idx"), train.column("user_id")),
        item_ids=_scatter(train.column("item_idx"), train.column("movie_id")),
        **tables,
    )


def _scatter(index: pa.ChunkedArray, ids: pa.ChunkedArray) -> np.ndarray:
    """ids placed at their index: the index -> MovieLens id map."""
    idx = index.to_numpy()
    out = np.zeros(int(idx.max()) + 1 if len(idx) else 0, dtype=np.int64)
    out[idx] = ids.to_numpy()
    return out


def load_item_genres(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, item_ids: np.ndarray) -> tuple[sp.csr_matrix, list[str]]:
    """(n_items, n_genres) multi-hot genre matrix in the index space of ``item_ids``, and the
    genre names (column order). Movies without genres get an all-zero row."""
    pairs = sql.arrow(con, "catalog/item_genres.sql")
    names = sorted(set(pairs.column("genre").to_pylist()))
    rows = _lookup(np.asarray(item_ids), pairs.column("movie_id").to_numpy())
    cols = np.searchsorted(names, pairs.column("genre").to_numpy(zero_copy_only=False)) if names else np.array([], int)
    keep = rows >= 0
    matrix = sp.csr_matrix(
        (np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])), shape=(len(item_ids), len(names))
    )
    matrix.data[:] = 1.0  # a genre listed twice still counts once
    return matrix, names
