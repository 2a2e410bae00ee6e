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

    ``train``/``val``/``test`` are Arrow tables (user_id, movie_id, ts) in MovieLens ids.
    Matrices are user x item CSR in *index* space: row ``u`` is ``user_ids[u]``, column
    ``i`` is ``item_ids[i]``; both maps are sorted and cover exactly the train users/items
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
        users = np.concatenate([t.column("user_id").to_numpy() for t in tables])
        items = np.concatenate([t.column("movie_id").to_numpy() for t in tables])
        rows, cols = self.user_index(users), self.item_index(items)
        if (rows < 0).any() or (cols < 0).any():
            raise ValueError("rows outside the train id maps; the split was not restricted to train users/items")
        if values == "ones":
            data = np.ones(len(rows), dtype=np.float32)
        else:
            data = np.concatenate([t.column("ts").to_numpy() for t in tables]).astype(np.float64)
        matrix = sp.csr_matrix((data, (rows, cols)), shape=self.shape)
        matrix.sum_duplicates()
        return matrix


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.clip(pos, 0, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[pos] == ids if len(sorted_ids) else np.zeros(len(ids), bool)
    return np.where(found, pos, -1).astype(np.int64)


def load_split(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, strategy: str) -> SplitData:
    """Read ``strategy``'s train/val/test from ``split_interactions`` (no Python row loops)."""
    tables = {part: sql.arrow(con, "splits/export.sql", {"strategy": strategy, "part": part}) for part in PARTS}
    if tables["train"].num_rows == 0:
        raise ValueError(f"split {strategy!r} has no train rows; run `recsys ingest` (or `recsys split`) first")
    users = sql.arrow(con, "splits/train_users.sql", {"strategy": strategy})
    items = sql.arrow(con, "splits/train_items.sql", {"strategy": strategy})
    return SplitData(
        strategy=strategy,
        user_ids=users.column(0).to_numpy(),
        item_ids=items.column(0).to_numpy(),
        **tables,
    )
