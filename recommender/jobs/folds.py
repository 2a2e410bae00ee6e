"""Rolling-origin evaluation: the per-user split's folds 2..N (sql/warehouse/migrations/
015_folds.sql) evaluated with the configurations tuned on fold 1's val.

Tuning runs on the first fold only (the split itself): each later fold refits every model's
stored configuration on its own train+val and scores its own test once, and trains and scores
the two-stage ranker on its own val and test. Every number is a run of its own, logged with the
fold's strategy (``per_user/2``, ...), so the report can pool them over users.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from recommender.config import Settings
from recommender.errors import UserFacingError
from recommender.jobs import pipeline
from recommender.sqlfiles import SqlLibrary


def missing_folds(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> list[str]:
    """The fold strategies ``settings`` asks for (``fold_count``) that the warehouse's splits do not hold."""
    built = {row[0] for row in sql.run(con, "warehouse/splits/fold_strategies.sql").fetchall()}
    wanted = [s.split_strategy for s in settings.fold_settings()[1:]]
    if settings.base_strategy == "crossfold" and {b for b in built if b.startswith("crossfold/")} != set(wanted):
        return wanted  # built with another number of partitions: every user's partition moves
    return [name for name in wanted if name not in built]


def evaluate_later_folds(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    models: list[str],
    *,
    ranker: bool,
    say: Callable[[str], None] = lambda m: None,
) -> list[pipeline.RunResult]:
    """Evaluate ``models`` (and the ranker when ``ranker``) on folds 2..settings.fold_count; fold 1
    is the caller's own evaluation."""
    from recommender.jobs.two_stage import train_and_evaluate

    if settings.folds > 1 and settings.split_strategy != "per_user":
        raise UserFacingError("--folds are cut-offs of the per-user split: use --split per-user")
    results = []
    for fold in settings.fold_settings()[1:]:
        say(f"fold {fold.fold} of {settings.fold_count} ({fold.split_strategy}): configurations tuned on fold 1's val")
        wb = pipeline.Workbench(con, sql, fold, say=say)
        results += pipeline.evaluate_final(wb, models)
        if ranker:
            results.append(train_and_evaluate(wb)[0])
    return results
