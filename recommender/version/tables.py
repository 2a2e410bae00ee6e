"""The Arrow tables a serving version is written from."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.lists.served import ServedLists
from recommender.models import Popular, Recommender
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.export import SplitData

SIMILAR_N = 20
POPULAR_N = 1000


def recommendation_rows(
    model: str,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    lists: ServedLists,
    reasons: np.ndarray,
    ranked_by: np.ndarray | None = None,
) -> pa.Table:
    """Rows of ``recommendations`` for a batch of users (``user_ids``: their MovieLens ids,
    ``item_ids``: the index -> movie id map of ``lists``; ``ranked_by``: the ranker's feature
    names, "" for none)."""
    n, k = lists.items.shape
    valid = lists.items >= 0
    ranks = np.cumsum(valid, axis=1)  # 1..k over the valid entries (valid ones come first)
    reason_ids = np.where(reasons >= 0, item_ids[np.maximum(reasons, 0)], -1)
    return pa.table(
        {
            "model": pa.array([model] * int(valid.sum()), pa.string()),
            "user_id": pa.array(np.repeat(user_ids, k).reshape(n, k)[valid].astype(np.int32)),
            "rank": pa.array(ranks[valid].astype(np.int32)),
            "movie_id": pa.array(item_ids[lists.items[valid]].astype(np.int32)),
            "score": pa.array(lists.scores[valid].astype(np.float32), mask=np.isnan(lists.scores[valid])),
            "reason_movie_id": pa.array(reason_ids[valid].astype(np.int32), mask=reason_ids[valid] < 0),
            "source": pa.array(np.where(lists.filled[valid], "popular_fill", "model")),
            "ranked_by": _names(ranked_by[valid]) if ranked_by is not None else pa.nulls(int(valid.sum()), pa.string()),
        }
    )


def _names(values: np.ndarray) -> pa.Array:
    values = values.astype(str)
    return pa.array(values, pa.string(), mask=values == "")


def catalog_rows(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, data: SplitData, history: sp.csr_matrix) -> pa.Table:
    """Every catalog movie with its positive count in ``history`` (0 for movies outside it)."""
    catalog = sql.arrow(con, "warehouse/catalog/movies.sql")
    counts = np.zeros(len(catalog), dtype=np.int64)
    idx = data.item_index(catalog.column("movie_id").to_numpy())
    item_counts = np.asarray(history.sum(axis=0)).ravel().astype(np.int64)
    counts[idx >= 0] = item_counts[idx[idx >= 0]]
    return catalog.append_column("positive_count", pa.array(counts))


def popular_rows(data: SplitData, fallback: Popular) -> pa.Table:
    top = fallback.ranking_[:POPULAR_N]
    return pa.table(
        {
            "rank": pa.array(np.arange(1, len(top) + 1, dtype=np.int32)),
            "movie_id": pa.array(data.item_ids[top].astype(np.int32)),
            "score": pa.array(fallback.scores_[top].astype(np.float32)),
        }
    )


def similar_rows(data: SplitData, model: Recommender) -> pa.Table:
    """The SIMILAR_N most similar movies of every movie (``model.similar_items``: what the
    API's request-time answer reads too), itself excluded."""
    items, scores = model.similar_items(np.arange(len(data.item_ids)), SIMILAR_N)
    row, rank = np.nonzero(items >= 0)
    return pa.table(
        {
            "movie_id": pa.array(data.item_ids[row].astype(np.int32)),
            "rank": pa.array((rank + 1).astype(np.int32)),
            "similar_movie_id": pa.array(data.item_ids[items[row, rank]].astype(np.int32)),
            "score": pa.array(scores[row, rank].astype(np.float32)),
        }
    )


def model_item_rows(data: SplitData) -> pa.Table:
    return pa.table(
        {"item_idx": np.arange(len(data.item_ids), dtype=np.int32), "movie_id": data.item_ids.astype(np.int32)}
    )
