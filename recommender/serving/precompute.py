"""`recsys precompute`: every known user's lists for every model, similar movies, popular
movies, written to a new immutable version folder, checked, then published atomically.

Layout (beside the warehouse, never inside it, so serving never locks the warehouse):

    serving/v0007/recs.duckdb   recommendations, catalog, popular_movies, similar_movies, ...
    serving/v0007/als.npz       the served ALS model (fold-in for users unknown at training)
    serving/ACTIVE.json         {"version": 7, "path": "v0007", ...}; replaced atomically
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender import pipeline
from recommender.config import Settings
from recommender.models import ALS, DiverseALS, ItemKNN, Recommender, TopN
from recommender.models import load as load_model
from recommender.serving.lists import ServedLists, popularity_fallback, served_lists
from recommender.warehouse.connection import SqlLibrary

SIMILAR_N = 20
POPULAR_N = 1000
#: Reasons for factor models are searched among the user's most recent history items.
REASON_WINDOW = 200
BATCH = 2048
ACTIVE_FILE = "ACTIVE.json"


class PublishError(RuntimeError):
    """A data check returned rows (or the inputs are missing); the old version stays active."""


@dataclass(frozen=True)
class Published:
    version: int
    path: Path
    rows: int
    seconds: float


def active_pointer(settings: Settings) -> dict | None:
    path = settings.serving_dir / ACTIVE_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def precompute_and_publish(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings,
                           say: Callable[[str], None] = lambda m: None) -> Published:
    started = time.perf_counter()
    wb = pipeline.Workbench(con, sql, settings, say=say)
    models = _final_models(wb, say)
    data = wb.data
    history = data.matrix("train", "val")
    n_serve = max(settings.ks)
    fallback = popularity_fallback(history)
    users = np.arange(history.shape[0])
    version = (con.execute("select coalesce(max(version), 0) + 1 from model_versions").fetchall()[0][0])
    serving = settings.serving_dir
    serving.mkdir(parents=True, exist_ok=True)
    staging = serving / f".staging-v{version:04d}"
    final = serving / f"v{version:04d}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()

    recs = duckdb.connect(str(staging / "recs.duckdb"))
    total_rows = 0
    try:
        sql.run(recs, "serving/schema.sql")
        spent = {name: {"lists": 0.0, "reasons": 0.0, "write": 0.0} for name in models}
        shared_pool = _same_als(models["als"][1], models["diverse"][1])
        times = data.time_matrix("train", "val")
        sorted_sim = _rows_sorted_by_value(models["itemknn"][1].model_.similarity.tocsr())
        for start in range(0, len(users), 65536):  # bounded memory per chunk of users
            chunk = users[start:start + 65536]
            recent = _recent_history(history[chunk], times[chunk], REASON_WINDOW)  # shared by als and diverse
            pool = None
            if shared_pool:  # ALS's top-20 is the prefix of the pool the re-ranker reads
                t = time.perf_counter()
                pool = models["als"][1].recommend(chunk, history, models["diverse"][1].pool_size(n_serve))
                spent["als"]["lists"] += time.perf_counter() - t
            for name, (run_id, model) in models.items():
                t = time.perf_counter()
                top = None
                if pool is not None and name == "als":
                    top = TopN(pool.items[:, :n_serve], pool.scores[:, :n_serve])
                elif pool is not None and name == "diverse":
                    top = model.rerank(pool, n_serve)
                lists = served_lists(model, chunk, history, n_serve, fallback, top=top)
                spent[name]["lists"] += time.perf_counter() - t
                t = time.perf_counter()
                reasons = reason_items(model, chunk, lists, history, recent=recent, sorted_sim=sorted_sim)
                spent[name]["reasons"] += time.perf_counter() - t
                t = time.perf_counter()
                table = _recommendation_rows(name, data.user_ids[chunk], data.item_ids, lists, reasons)
                recs.register("new_rows", table)
                recs.execute("insert into recommendations select * from new_rows")
                recs.unregister("new_rows")
                spent[name]["write"] += time.perf_counter() - t
                total_rows += table.num_rows
        for name, stages in spent.items():
            say(f"  {name}: {len(users):,} users x {n_serve}: "
                + ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in stages.items()))
        t = time.perf_counter()
        _write_catalog(con, recs, data, history)
        _write_popular(recs, data, fallback)
        _write_similar(recs, data, models["itemknn"][1])
        recs.register("items", pa.table({"item_idx": np.arange(len(data.item_ids), dtype=np.int32),
                                         "movie_id": data.item_ids.astype(np.int32)}))
        recs.execute("insert into model_items select * from items")
        metrics = _final_metrics(con, {m: r for m, (r, _) in models.items()})
        diverse_params = models["diverse"][1].params.to_dict()
        recs.execute(
            "insert into version_info values (?, now()::timestamp, ?, ?, ?, ?, ?)",
            [version, settings.split_strategy, n_serve, json.dumps({m: r for m, (r, _) in models.items()}),
             json.dumps(metrics), json.dumps(diverse_params)],
        )
        # data checks, against the train+val history the lists were filtered by
        recs.register("seen_history", pa.table({"user_id": data.user_ids[history.tocoo().row].astype(np.int32),
                                                "movie_id": data.item_ids[history.tocoo().col].astype(np.int32)}))
        say(f"  catalog, popular, similar movies: {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        failed = run_checks(recs, sql, settings.sql_dir, {"expected": n_serve})
        recs.unregister("seen_history")
        recs.execute("checkpoint")
        say(f"  data checks: {time.perf_counter() - t:.1f}s")
    finally:
        recs.close()
    if failed:
        shutil.rmtree(staging, ignore_errors=True)
        _record_version(con, version, None, "rejected", settings, models, metrics, failed, total_rows)
        raise PublishError(f"check {failed} returned rows; version {version} was not published "
                           f"and the active version is unchanged")
    models["als"][1].save(staging / "als.npz")
    os.replace(staging, final)  # the folder appears complete or not at all
    publish_pointer(settings, version, final.name)
    _record_version(con, version, str(final), "active", settings, models, metrics, None, total_rows)
    seconds = time.perf_counter() - started
    say(f"published version {version} ({total_rows:,} rows) in {seconds:.1f}s -> {final}")
    pruned = prune_versions(con, sql, settings)
    if pruned:
        say(f"deleted {len(pruned)} old version folder(s), keeping {settings.serving_keep}: {', '.join(pruned)}")
    return Published(version, final, total_rows, seconds)


def prune_versions(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> list[str]:
    """Delete version folders beyond the newest ``settings.serving_keep``, never the active
    one; their ``model_versions`` rows become ``pruned``. A server still on a deleted version
    keeps answering (its lists are in memory, its open files stay readable on POSIX) until
    it reloads. Returns the deleted folder names."""
    pointer = active_pointer(settings)
    active = pointer["path"] if pointer else None
    folders = sorted((p for p in settings.serving_dir.glob("v[0-9][0-9][0-9][0-9]") if p.is_dir()),
                     key=lambda p: int(p.name[1:]))
    doomed = [p for p in folders[:-settings.serving_keep] if p.name != active]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
        sql.run(con, "serving/mark_pruned.sql", {"version": int(folder.name[1:])})
    return [p.name for p in doomed]


def _same_als(als: ALS, diverse: DiverseALS) -> bool:
    """Whether the re-ranker sits on exactly the served ALS (then one candidate pool serves both)."""
    return (diverse.als is not None
            and np.array_equal(als.item_factors, diverse.als.item_factors)
            and np.array_equal(np.asarray(als.model_.user_factors), np.asarray(diverse.als.model_.user_factors)))


def run_checks(recs: duckdb.DuckDBPyConnection, sql: SqlLibrary, sql_dir: Path, params: dict) -> str | None:
    """Run every sql/checks/*.sql; returns the name of the first that returns rows."""
    for path in sorted((Path(sql_dir) / "checks").glob("*.sql")):
        rows = sql.run(recs, f"checks/{path.name}", params).fetchall()
        if rows:
            return f"{path.stem} (e.g. {rows[0]})"
    return None


def publish_pointer(settings: Settings, version: int, folder: str) -> None:
    """Point ACTIVE.json at a version folder: write a temporary file, then rename over."""
    pointer = settings.serving_dir / ACTIVE_FILE
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": version, "path": folder, "published_at": time.time()}))
    os.replace(tmp, pointer)


def _final_models(wb: pipeline.Workbench, say) -> dict[str, tuple[str, Recommender]]:
    """The models evaluated on test (their saved artifacts); fitted now where missing."""
    rows = wb.sql.run(wb.con, "runs/final_runs.sql", {"strategy": wb.settings.split_strategy}).fetchall()
    artifacts = dict(wb.con.execute(
        "select run_id, artifact from runs where list_contains(?, run_id)", [[r[0] for r in rows]]).fetchall())
    found = {model: run_id for run_id, model, *_ in rows if artifacts.get(run_id) and Path(artifacts[run_id]).exists()}
    missing = [m for m in ("popular", "itemknn", "als", "diverse") if m not in found]
    if missing:
        others = [r[0] for r in wb.sql.run(wb.con, "runs/final_strategies.sql",
                                            {"strategy": wb.settings.split_strategy}).fetchall()]
        hint = (f" (the warehouse has evaluated models for the {' and '.join(others)} split: "
                f"pass --split {others[0].replace('_', '-')} to serve those)") if others and not found else ""
        say(f"  no evaluated artifact for {', '.join(missing)} on the {wb.settings.split_strategy} split: "
            f"evaluating them on test now{hint}")
        for result in pipeline.evaluate_final(wb, missing):
            found[result.model] = result.run_id
            artifacts[result.run_id] = wb.con.execute("select artifact from runs where run_id = ?", [result.run_id]).fetchall()[0][0]
    out = {}
    for model in ("popular", "itemknn", "als", "diverse"):
        fitted = load_model(Path(artifacts[found[model]]))
        if isinstance(fitted, DiverseALS) and fitted.params.similarity == "genres" and fitted.item_genres is None:
            fitted.item_genres = wb.item_genres
        out[model] = (found[model], fitted)
    return out


def reason_items(model: Recommender, users: np.ndarray, lists: ServedLists, history: sp.csr_matrix, *,
                 recent: np.ndarray, sorted_sim: sp.csr_matrix) -> np.ndarray:
    """(n, k) index of the history item that contributed most to each recommended item, -1 for none.

    ItemKNN: the history item with the largest similarity (its exact share of the score).
    ALS / diverse: the history item closest in factor space, among the REASON_WINDOW most recent.
    Popular and top-up entries: none.
    ``recent``: (len(users), window) newest history items per user (``_recent_history``);
    ``sorted_sim``: ItemKNN's similarity with rows ordered best first (``_rows_sorted_by_value``).
    """
    out = np.full(lists.items.shape, -1, dtype=np.int32)
    if isinstance(model, ItemKNN):
        sim = sorted_sim
        batch = 512  # bounds the dense (batch x items) history mask below (~30 MB)
        for start in range(0, len(users), batch):
            sl = slice(start, start + batch)
            items = lists.items[sl]
            rows = sim[np.where(items >= 0, items, 0).ravel()]
            entry_row = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
            owner = entry_row // items.shape[1]  # the batch row (user) of each entry
            seen = history[users[sl]]
            mask = np.zeros((seen.shape[0], history.shape[1]), dtype=bool)
            mask[np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr)), seen.indices] = True
            # neighbours come best first in each row: the first one the user has seen is the reason
            hit = np.flatnonzero(mask[owner, rows.indices])
            first_rows, first = np.unique(entry_row[hit], return_index=True)
            reason = np.full(rows.shape[0], -1, dtype=np.int32)
            reason[first_rows] = rows.indices[hit[first]]
            out[sl] = reason.reshape(items.shape)
    elif isinstance(model, (ALS, DiverseALS)):
        als = model if isinstance(model, ALS) else model.als
        vectors = als.item_factors / np.maximum(np.linalg.norm(als.item_factors, axis=1, keepdims=True), 1e-12)
        # batches of users with similar history lengths, so each product spans only its
        # batch's longest recent history (``recent`` is left-aligned, -1 padded)
        lengths = (recent >= 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(users), BATCH):
            rows = order[start:start + BATCH]
            width = max(int(lengths[rows].max()), 1)
            items, hist = lists.items[rows], recent[rows, :width]
            # batched matrix products run on BLAS; einsum here would not
            s = np.matmul(vectors[np.maximum(items, 0)], vectors[np.maximum(hist, 0)].transpose(0, 2, 1))
            s += np.where(hist < 0, -np.inf, 0).astype(s.dtype)[:, None, :]  # padding never wins
            best = np.argmax(s, axis=2)
            chosen = np.take_along_axis(hist, best, axis=1)
            out[rows] = np.where((items >= 0) & (hist >= 0).any(axis=1)[:, None], chosen, -1)
    out[lists.filled] = -1
    return out


def _rows_sorted_by_value(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The same CSR matrix with each row's entries ordered by value, largest first."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, rows))
    return sp.csr_matrix((matrix.data[order], matrix.indices[order], matrix.indptr), shape=matrix.shape)


def _recent_history(history: sp.csr_matrix, times: sp.csr_matrix, window: int) -> np.ndarray:
    """(n, window) item indices of each row's newest entries, -1 padded (no Python row loop)."""
    n = history.shape[0]
    rows = np.repeat(np.arange(n), np.diff(history.indptr))
    order = np.lexsort((-times.data, rows))  # by row, newest first
    pos = np.arange(len(order)) - history.indptr[rows[order]]
    keep = pos < window
    out = np.full((n, window), -1, dtype=np.int64)
    out[rows[order][keep], pos[keep]] = history.indices[order][keep]
    return out


def _recommendation_rows(model: str, user_ids: np.ndarray, item_ids: np.ndarray, lists: ServedLists,
                         reasons: np.ndarray) -> pa.Table:
    n, k = lists.items.shape
    valid = lists.items >= 0
    ranks = np.cumsum(valid, axis=1)  # 1..k over the valid entries (valid ones come first)
    reason_ids = np.where(reasons >= 0, item_ids[np.maximum(reasons, 0)], -1)
    return pa.table({
        "model": pa.array([model] * int(valid.sum()), pa.string()),
        "user_id": pa.array(np.repeat(user_ids, k).reshape(n, k)[valid].astype(np.int32)),
        "rank": pa.array(ranks[valid].astype(np.int32)),
        "movie_id": pa.array(item_ids[lists.items[valid]].astype(np.int32)),
        "score": pa.array(lists.scores[valid].astype(np.float32), mask=np.isnan(lists.scores[valid])),
        "reason_movie_id": pa.array(reason_ids[valid].astype(np.int32), mask=reason_ids[valid] < 0),
        "source": pa.array(np.where(lists.filled[valid], "popular_fill", "model")),
    })


def _write_catalog(con, recs, data, history) -> None:
    catalog = con.sql("select movie_id, title, year, genres from catalog").to_arrow_table()
    counts = np.zeros(len(catalog), dtype=np.int64)
    idx = data.item_index(catalog.column("movie_id").to_numpy())
    item_counts = np.asarray(history.sum(axis=0)).ravel().astype(np.int64)
    counts[idx >= 0] = item_counts[idx[idx >= 0]]
    recs.register("new_catalog", catalog.append_column("positive_count", pa.array(counts)))
    recs.execute("insert into catalog select * from new_catalog")
    recs.unregister("new_catalog")


def _write_popular(recs, data, fallback) -> None:
    top = fallback.ranking_[:POPULAR_N]
    recs.register("new_popular", pa.table({
        "rank": pa.array(np.arange(1, len(top) + 1, dtype=np.int32)),
        "movie_id": pa.array(data.item_ids[top].astype(np.int32)),
        "score": pa.array(fallback.scores_[top].astype(np.float32)),
    }))
    recs.execute("insert into popular_movies select * from new_popular")
    recs.unregister("new_popular")


def _write_similar(recs, data, itemknn: ItemKNN) -> None:
    sim = itemknn.model_.similarity.tocoo()
    keep = sim.row != sim.col
    row, col, val = sim.row[keep], sim.col[keep], sim.data[keep]
    order = np.lexsort((-val, row))
    row, col, val = row[order], col[order], val[order]
    starts = np.searchsorted(row, row, side="left")
    rank = np.arange(len(row)) - starts + 1
    top = rank <= SIMILAR_N
    recs.register("new_similar", pa.table({
        "movie_id": pa.array(data.item_ids[row[top]].astype(np.int32)),
        "rank": pa.array(rank[top].astype(np.int32)),
        "similar_movie_id": pa.array(data.item_ids[col[top]].astype(np.int32)),
        "score": pa.array(val[top].astype(np.float32)),
    }))
    recs.execute("insert into similar_movies select * from new_similar")
    recs.unregister("new_similar")


def _final_metrics(con, runs: dict[str, str]) -> dict:
    rows = con.execute(
        "select r.model, m.metric, m.value from run_metrics m join runs r using (run_id) "
        "where list_contains(?, run_id) and m.k = 10", [list(runs.values())]).fetchall()
    out: dict[str, dict[str, float]] = {}
    for model, metric, value in rows:
        out.setdefault(model, {})[metric] = round(value, 5)
    return out


def _record_version(con, version, path, status, settings, models, metrics, failed, rows) -> None:
    con.execute("begin transaction")
    if status == "active":
        con.execute("update model_versions set status = 'superseded' where status = 'active'")
    con.execute(
        "insert into model_versions values "
        "(?, ?, ?, now()::timestamp, case when ? = 'active' then now()::timestamp end, ?, ?, ?, ?, ?)",
        [version, path, status, status, settings.split_strategy, json.dumps({m: r for m, (r, _) in models.items()}), json.dumps(metrics), failed, rows],
    )
    con.execute("commit")
