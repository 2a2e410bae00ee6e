"""The main job's modelling sequence, defined once: `recsys run`, `recsys retrain` and the
test fixtures all call ``model_and_publish``.

1. (``Steps.tune``) every model's search on val;
2. each model's stored configuration refitted on train+val and scored on test once;
3. (``Steps.ranker``) the two-stage ranker trained on val and scored on the same test users;
4. (``settings.folds`` > 1) the same on the earlier cut-offs, for the pooled report;
5. (``Steps.report``) the report's tables and plots;
6. (``Steps.publish``) the production refit on every rating, the version built, checked, published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from recommender.config import Settings
from recommender.jobs import pipeline
from recommender.jobs.folds import evaluate_later_folds
from recommender.jobs.publish import Published, precompute_and_publish
from recommender.jobs.two_stage import train_and_evaluate
from recommender.names import MODEL_NAMES
from recommender.sqlfiles import SqlLibrary


@dataclass(frozen=True)
class Steps:
    """Which of the main job's optional steps run: tuning (``trials`` per model; None: each
    model's own budget), the two-stage ranker, the report (into the folder ``report``; None:
    none) and publication."""

    tune: bool = True
    trials: int | None = None
    ranker: bool = True
    report: Path | None = None
    publish: bool = True

    def stage_count(self, folds: int) -> int:
        """How many times ``model_and_publish`` calls ``stage`` for these steps."""
        return self.tune + 1 + (folds > 1) + (self.report is not None) + self.publish


def model_and_publish(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    steps: Steps,
    stage: Callable[[str], None] = lambda text: None,
    say: Callable[[str], None] = lambda m: None,
) -> tuple[list[pipeline.RunResult], Published | None]:
    """Steps 1-6 above on the warehouse's current splits; returns the test evaluations (the
    ranker's last) and the published version (None without ``steps.publish``)."""
    tune, trials, ranker, report, publish = steps.tune, steps.trials, steps.ranker, steps.report, steps.publish
    wb = pipeline.Workbench(con, sql, settings, say=say)
    if tune:
        stage("tune on val (a sequential search per model; diverse and hybrid: sweeps over the tuned ALS)")
        for model in MODEL_NAMES:
            pipeline.tune(wb, model, trials)
    stage("evaluate on test (refit on train+val)" + (", then the two-stage ranker (trained on val)" if ranker else ""))
    finals = pipeline.evaluate_final(wb, ["all"])
    if ranker:
        finals.append(train_and_evaluate(wb)[0])
    del wb
    if settings.fold_count > 1:
        stage(
            f"evaluate folds 2..{settings.fold_count} (the stored configurations"
            + (", then the ranker)" if ranker else ")")
        )
        evaluate_later_folds(con, sql, settings, ["all"], ranker=ranker, say=say)
    release_memory()  # the split's matrices are not needed any more
    if report is not None:
        from recommender.evaluation.report import write_report  # matplotlib: only when a report is asked for

        stage(f"report -> {report}")
        write_report(con, sql, settings, report, say=say)
    published = None
    if publish:
        stage("production refit on every rating, precompute, checks, publish")
        published = precompute_and_publish(con, sql, settings, say=say)
    return finals, published


def release_memory() -> None:
    """Collect the split's models and matrices and hand the freed heap back to the system
    (glibc keeps it otherwise, and the production fit's peak would stack on top of it)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
