"""`recsys run DATA_DIR`: the whole job, end to end, with progress and a final table."""

from __future__ import annotations

import time
from pathlib import Path

from recommender import pipeline
from recommender.cli import UserFacingError, say
from recommender.commands import print_relation
from recommender.config import Settings
from recommender.evaluation.report import write_report
from recommender.warehouse.connection import SqlLibrary, connect
from recommender.warehouse.ingest import IngestError, ingest
from recommender.warehouse.jobs import job
from recommender.warehouse.migrations import MigrationError, migrate
from recommender.warehouse.splits import build_splits

TUNED = ("popular", "itemknn", "als")


def run_main_job(settings: Settings, data_dir: Path, *, trials: int, out: Path, precompute: bool) -> int:
    started = time.perf_counter()

    def stage(n: int, total: int, text: str) -> None:
        say(f"[{n}/{total}] {text}  (+{time.perf_counter() - started:.0f}s)")

    total = 6 if precompute else 5
    con = connect(settings)
    try:
        stage(1, total, f"migrate {settings.warehouse}")
        try:
            migrate(con, settings.sql_dir)
        except MigrationError as exc:
            raise UserFacingError(str(exc)) from exc
        sql = SqlLibrary(settings.sql_dir)
        with job(con, f"run {data_dir}", settings):
            stage(2, total, f"ingest {data_dir} and build the splits")
            try:
                ingest(con, sql, data_dir, say=say)
            except IngestError as exc:
                raise UserFacingError(f"{exc} (nothing was changed)") from exc
            build_splits(con, sql, settings)  # always: the settings may differ from the last build
            print_relation(con, "select * from split_summary where strategy = $s", params={"s": settings.split_strategy})
            wb = pipeline.Workbench(con, sql, settings, say=say)
            stage(3, total, f"tune on val ({trials} trials per model; diverse: lambda sweep)")
            for model in TUNED:
                pipeline.tune(wb, model, trials)
            pipeline.tune(wb, "diverse", trials)
            stage(4, total, "evaluate on test (refit on train+val)")
            finals = pipeline.evaluate_final(wb, ["all"])
            stage(5, total, f"report -> {out}")
            write_report(con, sql, settings, out, say=say)
            if precompute:
                from recommender.serving.precompute import precompute_and_publish

                stage(6, total, "precompute recommendation tables for serving")
                precompute_and_publish(con, sql, settings, say=say)
        say(f"done in {time.perf_counter() - started:.0f}s. Test results (K=10):")
        con.sql(
            "select model, users, precision, recall, ndcg, map, mrr, hit_rate, coverage, diversity, novelty, run_id "
            "from run_table(10) where list_contains($ids, run_id) order by ndcg desc",
            params={"ids": [r.run_id for r in finals]},
        ).show(max_width=250)
        say(f"confidence intervals and plots: {out / 'report.md'}")
    finally:
        con.close()
    return 0
