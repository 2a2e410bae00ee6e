"""`recsys precompute`: refit every model on all the data, build a new version folder from
the fits (lists, similar and popular movies, the ranker's state), check it, and publish it.

Evaluation fits on train+val and scores test once; what is served is the same configuration
refitted on every rating (the production fit), so users' latest tastes count. Its lists come
from the evaluation's own list function (``served_lists``) and leave out every movie the
user rated, at any value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from recommender.config import Settings
from recommender.errors import RecsysError
from recommender.evaluation.default_model import choose_default
from recommender.jobs import pipeline
from recommender.sqlfiles import SqlLibrary
from recommender.version import build, live, registry
from recommender.version.format import LINKS_FILE, LISTS_FILE, stamp
from recommender.warehouse.connection import job_config
from recommender.warehouse.export import ALL_PARTS
from recommender.words import plural


class PublishError(RecsysError):
    """A data check returned rows (or the inputs are missing); the old version stays active."""


@dataclass(frozen=True)
class Published:
    version: int
    path: Path
    rows: int
    seconds: float


def precompute_and_publish(
    con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings, say: Callable[[str], None] = lambda m: None
) -> Published:
    started = time.perf_counter()
    registry.recover(con, sql, settings, say)
    finals = pipeline.final_configs(con, sql, settings, say)
    version, staging = registry.staging_folder(con, sql, settings)
    # its own DuckDB instance: bounded like the warehouse's (else 80 % of RAM for its buffers)
    recs = duckdb.connect(str(staging / LISTS_FILE), config=job_config(settings))
    try:
        # the ranker's feature tables first, while the production fits are not in memory yet
        # (made after the lists, they lifted the 25M main job's peak by about 1 GB)
        ranker = build.ranker_state(con, sql, recs, settings, say)
        if ranker is not None:
            say(f"  ranker: the booster of evaluation run {ranker[0]} and the feature store as of every rating")
        production = pipeline.production_fit(con, sql, settings, finals, say)
        # the evaluations whose test numbers the version publishes: the ranker's too, when served
        evaluated = {m: p.evaluated_run_id for m, p in production.models.items()}
        evaluated |= {"ranker": ranker[0]} if ranker else {}
        record: dict[str, Any] = {
            "split_strategy": settings.split_strategy,
            "runs": json.dumps(evaluated),
            "production_runs": json.dumps({m: p.run_id for m, p in production.models.items()}),
            "metrics": json.dumps(build.final_metrics(con, sql, evaluated)),
        }
        served_ranker = build.ranker_to_precompute(ranker, production, recs, settings, say)
        default = choose_default(con, sql, settings, ranker_served=ranker is not None)
        record |= {"default_model": default.model, "default_reason": default.reason, "visitor_model": default.visitors}
        say(f"  served by default: {default.model} ({default.reason})")
        if ranker is not None:
            say(f"  a visitor's request for the ranker is answered by: {default.visitors}")
        t = time.perf_counter()
        links = build.links_of(con, sql, production)
        say(f"  links for reasons: {time.perf_counter() - t:.1f}s")
        contents = build.VersionContents(version, production, links, served_ranker, record)
        total_rows = build.write_version(con, sql, recs, settings, contents, say)
        t = time.perf_counter()
        failed = build.run_checks(con, sql, recs, production, max(settings.ks))
        recs.execute("checkpoint")
        say(f"  data checks: {time.perf_counter() - t:.1f}s")
    finally:
        recs.close()
    record["rows"] = total_rows
    if failed:
        registry.reject(con, sql, version, staging, failed, record)
        raise PublishError(
            f"check {failed} returned rows; version {version} was not published and the active version is unchanged"
        )
    data = production.data
    artifacts = {name: m.artifact for name, m in production.models.items()}
    if ranker is not None:
        artifacts["ranker"] = Path(ranker[1])
    live.save_state(
        staging,
        artifacts,
        data.user_ids,
        data.item_ids,
        production.history,
        data.time_matrix(*ALL_PARTS),
        production.exclude,
    )
    links.save(staging / LINKS_FILE)
    stamp(staging)  # the last file: a folder without it was never finished
    final = registry.publish(con, sql, settings, version, staging, record)
    seconds = time.perf_counter() - started
    say(f"published version {version} ({total_rows:,} rows) in {seconds:.1f}s -> {final}")
    pruned = registry.prune(con, sql, settings)
    if pruned:
        deleted = plural(len(pruned), "old version folder")
        say(f"deleted {deleted}, keeping {settings.serving_keep}: {', '.join(pruned)}")
    return Published(version, final, total_rows, seconds)
