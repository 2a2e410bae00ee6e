"""Building a version folder: every user's lists, similar movies and popular movies from the
production fits, the ranker's state, and the data checks that gate its publication.

Evaluation fits on train+val and scores test once; what is served is the same configuration
refitted on every rating (the production fit), so users' latest tastes count. Its lists come
from the evaluation's own list function (``served_lists``) and leave out every movie the
user rated, at any value.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recommender.config import Settings
from recommender.lists import explained
from recommender.lists.explained import ListInputs
from recommender.lists.reasons import REASON_WINDOW, Links, genre_bits
from recommender.lists.served import popularity_fallback
from recommender.models import Recommender, TopN
from recommender.models.base import ModelError
from recommender.models.ranker import SEQUENCE_DEPTHS, SOURCES, TwoStageRanker, load_ranker
from recommender.names import RANKER
from recommender.sparse import recent_history
from recommender.sqlfiles import SqlLibrary
from recommender.version import tables
from recommender.warehouse.connection import insert_arrow
from recommender.warehouse.export import ALL_PARTS, SplitData
from recommender.warehouse.feature_arrays import FeatureArrays
from recommender.warehouse.features import copy_features, materialize_features

#: Users per chunk of list computation (bounds memory).
CHUNK_USERS = 65536
#: Users per range of the data checks that join the lists with every rating (bounds memory).
CHECK_USERS = 40_000


@dataclass(frozen=True)
class ProductionModel:
    run_id: str  # the production run (kind 'production', fitted on every positive)
    evaluated_run_id: str  # the test evaluation whose configuration it refits and numbers it publishes
    fitted: Recommender
    artifact: Path  # its saved state (npz), which a version folder links to


@dataclass(frozen=True)
class Production:
    """What serving is built from: every rating as of the last split build, and each model's
    evaluated configuration refitted on all of it. ``history`` (every positive) is what the
    models score from; ``exclude`` (every rated movie, any value) is what no list may hold."""

    data: SplitData
    models: dict[str, ProductionModel]

    @property
    def history(self) -> sp.csr_matrix:
        return self.data.matrix(*ALL_PARTS)

    @property
    def exclude(self) -> sp.csr_matrix:
        return self.data.excluded(*ALL_PARTS)


@dataclass(frozen=True)
class VersionContents:
    """What a new version file is filled from: its ``number``, the production fits, the
    evidence every reason is chosen from (``links``), the two-stage ranker attached to the
    production sources when its lists are precomputed (None: scored at request time), and
    the version's ``record`` (its runs, metrics and default model)."""

    number: int
    production: Production
    links: Links
    ranker: TwoStageRanker | None
    record: dict


#: A long list-writing loop says how far it is at most this often (a 25M version takes minutes).
PROGRESS_EVERY_S = 15.0


def write_version(
    con, sql: SqlLibrary, recs: duckdb.DuckDBPyConnection, settings: Settings, contents: VersionContents, say
) -> int:
    """Fill a new version file: every user's lists for every model, the ranker's too when it
    is attached, each entry with its reason (the list pipeline, ``recommender.lists.explained``,
    that request-time lists run for one user), then catalog, popular, similar movies and the
    version's description. Returns the number of list rows."""
    sql.run(recs, "version/schema.sql")
    production = contents.production
    data, history, exclude = production.data, production.history, production.exclude
    t_catalog = time.perf_counter()
    # first: the ranker's pair features read the movies' years and genres from it
    insert_arrow(recs, "catalog", tables.catalog_rows(con, sql, data, history))
    t_catalog = time.perf_counter() - t_catalog
    n_serve = max(settings.ks)
    fallback = popularity_fallback(history)
    users = np.arange(history.shape[0])
    served: dict[str, Recommender] = {name: m.fitted for name, m in production.models.items()}
    if contents.ranker is not None:
        served[RANKER] = contents.ranker
    spent = {name: {"lists": 0.0, "reasons": 0.0, "write": 0.0} for name in served}
    # the re-rankers fitted on the production ALS itself read the prefixes of one ALS pool
    als = served["als"]
    rerankers = [name for name, model in served.items() if model.pool_of() is als]
    pool_size = max((served[name].pool_size(n_serve) for name in rerankers), default=n_serve)
    times = data.time_matrix(*ALL_PARTS)
    total_rows = 0
    started = last_report = time.perf_counter()
    for start in range(0, len(users), CHUNK_USERS):
        chunk = users[start : start + CHUNK_USERS]
        recent = recent_history(history[chunk], times[chunk], REASON_WINDOW)
        inputs = ListInputs(history, exclude, recent, fallback, contents.links)
        pool = None
        if rerankers:  # ALS's top-20 and each re-ranker's candidates are prefixes of one pool
            t = time.perf_counter()
            pool = als.recommend(chunk, history, pool_size, exclude)
            spent["als"]["lists"] += time.perf_counter() - t
        for name, model in served.items():
            t = time.perf_counter()
            top = None
            if pool is not None and (model is als or name in rerankers):
                size = n_serve if model is als else model.pool_size(n_serve)
                prefix = TopN(pool.items[:, :size], pool.scores[:, :size])
                top = prefix if model is als else model.rerank(prefix, n_serve)
            lists, ranked_by = explained.top_lists(model, chunk, n_serve, inputs, top)
            spent[name]["lists"] += time.perf_counter() - t
            t = time.perf_counter()
            made = explained.with_reasons(model, chunk, lists, inputs, ranked_by)
            spent[name]["reasons"] += time.perf_counter() - t
            t = time.perf_counter()
            table = tables.recommendation_rows(
                name, data.user_ids[chunk], data.item_ids, made.lists, made.reasons, made.ranked_by
            )
            insert_arrow(recs, "recommendations", table)
            spent[name]["write"] += time.perf_counter() - t
            total_rows += table.num_rows
        done = min(start + CHUNK_USERS, len(users))
        if time.perf_counter() - last_report >= PROGRESS_EVERY_S and done < len(users):
            last_report = time.perf_counter()
            say(f"  lists: {done:,} of {len(users):,} users ({done / len(users):.0%}) in {last_report - started:.0f}s")
    for name, stages in spent.items():
        say(
            f"  {name}: {len(users):,} users x {n_serve}: "
            + ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in stages.items())
        )
    t = time.perf_counter()
    insert_arrow(recs, "popular_movies", tables.popular_rows(data, fallback))
    insert_arrow(recs, "similar_movies", tables.similar_rows(data, served["itemknn"]))
    insert_arrow(recs, "model_items", tables.model_item_rows(data))
    sql.run(
        recs,
        "version/insert_version_info.sql",
        {
            "version": contents.number,
            "split_strategy": settings.split_strategy,
            "serve_n": n_serve,
            "runs": contents.record["runs"],
            "metrics": contents.record["metrics"],
            "production_runs": contents.record["production_runs"],
            "diverse_params": json.dumps(served["diverse"].params.to_dict()),
            "default_model": contents.record["default_model"],
            "default_reason": contents.record["default_reason"],
            "visitor_model": contents.record["visitor_model"],
        },
    )
    say(f"  catalog, popular, similar movies: {time.perf_counter() - t + t_catalog:.1f}s")
    return total_rows


def links_of(con, sql: SqlLibrary, production: Production) -> Links:
    """The evidence every served reason is chosen from (``recommender.lists.reasons``): the
    production positives' co-occurrence and the catalogue's genres."""
    catalog = sql.arrow(con, "warehouse/catalog/movies.sql")
    genres = dict(zip(catalog.column("movie_id").to_pylist(), catalog.column("genres").to_pylist()))
    knn = production.models.get("itemknn")  # its cosines are the links' when it keeps enough
    fitted = knn.fitted if knn is not None else None
    threads = fitted.threads if fitted is not None else 0  # the job's (its production fit's)
    return Links.fit(production.history, genre_bits(production.data.item_ids, genres), fitted, threads)


def ranker_to_precompute(
    state: tuple | None,
    production: Production,
    recs: duckdb.DuckDBPyConnection,
    settings: Settings,
    say: Callable[[str], None],
) -> TwoStageRanker | None:
    """The version's ranker attached to the production sources and the version file's feature
    tables, when its lists are precomputed (``settings.ranker_precompute_users``); else None,
    and the server scores them at request time."""
    if state is None:
        return None
    users = production.history.shape[0]
    ranker = load_ranker(Path(state[1]))
    limit = settings.ranker_precompute_users
    if users > limit:
        say(f"  ranker: lists scored at request time ({users:,} users, ranker_precompute_users {limit:,})")
        return None
    user_ids, item_ids = production.data.user_ids, production.data.item_ids
    # the version file's feature tables, as serving reads them; loaded on first use, since
    # write_version fills the catalogue they join first
    store = functools.cache(lambda: FeatureArrays.load(recs))

    def features(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return store().pairs(user_ids[rows], item_ids[items])

    # the publication's loop runs nothing else meanwhile: the booster takes the job's cores
    ranker.using_threads(settings.job_threads)
    times = production.data.time_matrix(*ALL_PARTS)
    recent = recent_history(production.history, times, max(SEQUENCE_DEPTHS))
    sources = {name: production.models[name].fitted for name in SOURCES}
    return ranker.attach(sources, ranker.booster, features, recent)


def ranker_state(
    con, sql: SqlLibrary, recs: duckdb.DuckDBPyConnection, settings: Settings, say: Callable[[str], None]
) -> tuple | None:
    """(run id, artifact) of the two-stage ranker the version serves, with its feature tables
    (as of every rating) copied into the version file; None when no ranker was evaluated, or
    the newest one was trained by older code on other features."""
    rows = sql.run(con, "warehouse/runs/latest_ranker.sql", {"strategy": settings.split_strategy}).fetchall()
    if not rows or not Path(rows[0][1]).exists():
        return None
    try:
        load_ranker(Path(rows[0][1]))
    except ModelError as exc:
        say(f"  ranker: not served ({exc})")
        return None
    materialize_features(con, sql, settings.split_strategy, "test")
    try:
        copy_features(con, sql, recs)
    finally:
        sql.run(con, "warehouse/features/drop_materialized.sql")
    return rows[0]


def run_checks(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    recs: duckdb.DuckDBPyConnection,
    production: Production,
    expected: int,
) -> str | None:
    """Run every sql/checks/*.sql on the new version file; returns the name of the first that
    returns rows. The checks see ``all_ratings`` (every rating in the warehouse, both
    sources, any value) and ``served_users`` (every user the version must hold lists for).

    A check that reads those two views runs once per range of CHECK_USERS users, with the
    views holding that range only: all of 25M's rated pairs at once, and the join over them,
    set the main job's peak memory."""
    checks = sorted((sql.root / "version" / "checks").glob("*.sql"))
    per_user = [p for p in checks if any(view in p.read_text() for view in ("all_ratings", "served_users"))]
    for path in [p for p in checks if p not in per_user]:
        rows = sql.run(recs, f"version/checks/{path.name}", {"expected": expected}).fetchall()
        if rows:
            return f"{path.stem} (e.g. {rows[0]})"
    user_ids = np.sort(production.data.user_ids.astype(np.int32))
    for start in range(0, len(user_ids), CHECK_USERS):
        chunk = user_ids[start : start + CHECK_USERS]
        bounds = {"lo": int(chunk[0]), "hi": int(chunk[-1])}
        recs.register("all_ratings", sql.arrow(con, "warehouse/versions/rated_pairs.sql", bounds))
        recs.register("served_users", pa.table({"user_id": chunk}))
        try:
            for path in per_user:
                rows = sql.run(recs, f"version/checks/{path.name}", {"expected": expected}).fetchall()
                if rows:
                    return f"{path.stem} (e.g. {rows[0]})"
        finally:
            recs.unregister("all_ratings")
            recs.unregister("served_users")
    return None


def final_metrics(con, sql: SqlLibrary, runs: dict[str, str]) -> dict:
    out: dict[str, dict[str, float]] = {}
    for model, metric, value in sql.run(
        con, "warehouse/versions/final_metrics.sql", {"run_ids": list(runs.values())}
    ).fetchall():
        out.setdefault(model, {})[metric] = round(value, 5)
    return out
