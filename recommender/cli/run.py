"""The whole jobs: `recsys run DATA_DIR` (first build) and `recsys retrain` (the closed loop)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from recommender.cli.common import (
    TRIALS_HELP,
    box_table,
    check_engine,
    engine_flags,
    open_warehouse,
    print_relation,
    reload_server,
    say,
    server_config,
    server_url,
)
from recommender.cli.models import print_runs, warn_small_parts
from recommender.cli.warehouse import (
    copy_feedback,
    data_dir_argument,
    data_folder,
    feedback_flags,
    feedback_source,
    migrate_warehouse,
)
from recommender.errors import UserFacingError
from recommender.names import MODEL_NAMES


def register(add) -> None:
    p = add("run", "do it all: load the data, tune and test every model, write the report, publish the lists to serve")
    data_dir_argument(p)
    p.add_argument("--trials", type=int, help=TRIALS_HELP)
    p.add_argument(
        "--folds",
        type=int,
        help="rolling-origin folds of the per-user split evaluated (each a step back in every user's "
        "timeline; tuned on fold 1's val; the report pools them) [1]",
    )
    p.add_argument("--out", type=Path, default=Path("reports"), help="report folder [reports]")
    p.add_argument("--no-precompute", action="store_true", help="stop after the report")
    p.set_defaults(handler=cmd_run)
    p = add(
        "retrain",
        "learn from the ratings posted to the API: copy them in, re-test the chosen configurations, refit on "
        "every rating and publish a new version (and reload a server)",
    )
    feedback_flags(p)
    p.add_argument(
        "--reload",
        metavar="URL",
        help="after publishing, POST URL/admin/reload (key from RECSYS_ADMIN_KEY); also where the "
        "feedback is read from unless --feedback-db or --server says otherwise",
    )
    p.add_argument("--tune", action="store_true", help="tune every model on val again first")
    p.add_argument("--trials", type=int, help="with --tune: " + TRIALS_HELP)
    p.add_argument("--keep", dest="serving_keep", type=int, help="versions kept on disk [3]")
    engine_flags(p)
    p.set_defaults(handler=cmd_retrain)


class Stages:
    """Numbered stage lines with the time since the start, and each stage's duration."""

    def __init__(self, total: int) -> None:
        self.total, self.started = total, time.perf_counter()
        self.marks: list[tuple[str, float]] = []

    def __call__(self, text: str) -> None:
        self.marks.append((text, time.perf_counter()))
        say(f"[{len(self.marks)}/{self.total}] {text}  (+{time.perf_counter() - self.started:.0f}s)")

    def summary(self) -> str:
        ends = [t for _, t in self.marks[1:]] + [time.perf_counter()]
        return ", ".join(f"{text.split(' ')[0]} {end - start:.1f}s" for (text, start), end in zip(self.marks, ends))


def cmd_run(args: argparse.Namespace, settings) -> int:
    from recommender.jobs.main import Steps, model_and_publish
    from recommender.warehouse.ingest import ingest
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    if args.trials is not None and args.trials < 1:
        raise UserFacingError("--trials must be at least 1")
    folder = data_folder(args.dir)
    publish = not args.no_precompute
    steps = Steps(tune=True, trials=args.trials, report=args.out, publish=publish)
    stage = Stages(2 + steps.stage_count(settings.fold_count))
    stage(f"migrate {settings.warehouse}")
    migrate_warehouse(settings)
    with open_warehouse(settings) as (con, sql):
        with job(con, f"run {folder}", settings):
            stage(f"ingest {folder} and build the splits")
            ingest(con, sql, folder, say=say)
            build_splits(con, sql, settings)  # always: the settings may differ from the last build
            print_relation(con, sql, "warehouse/splits/summary.sql", {"strategy": settings.split_strategy})
            warn_small_parts(con, sql, settings)
            finals, _ = model_and_publish(con, sql, settings, steps, stage=stage, say=say)
        say(f"done in {time.perf_counter() - stage.started:.0f}s ({stage.summary()}). Test results (K=10):")
        print_runs(con, sql, [r.run_id for r in finals])
        say(f"confidence intervals and plots: {args.out / 'report.md'}")
    if publish:
        flags = "" if args.warehouse is None else f" --warehouse {args.warehouse}"
        say(
            f"next: `recsys serve{flags}`, then open http://127.0.0.1:8000/recommend/1?model=als "
            "(or http://127.0.0.1:8000/app for the demo app, after `recsys build-app`)"
        )
    return 0


def cmd_retrain(args: argparse.Namespace, settings) -> int:
    from recommender.jobs.main import Steps, model_and_publish
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    check_engine(settings)
    if args.tune and args.trials is not None and args.trials < 1:
        raise UserFacingError("--trials must be at least 1")
    server_url(args.reload, "--reload")
    server_url(args.server, "--server")
    steps = Steps(tune=args.tune, trials=args.trials)
    stage = Stages(2 + steps.stage_count(settings.fold_count) + 1 + bool(args.reload))
    with open_warehouse(settings) as (con, sql):
        with job(con, "retrain", settings):
            before = sql.run(con, "warehouse/versions/active.sql").fetchall()
            stage("ingest feedback from the API")
            added = copy_feedback(con, sql, feedback_source(args, settings, sql, args.reload))
            stage("rebuild the splits")
            build_splits(con, sql, settings)
            _, published = model_and_publish(con, sql, settings, steps, stage=stage, say=say)
            after = sql.run(con, "warehouse/versions/active.sql").fetchall()
        stage("report")
        _report_changes(con, sql, settings, added, before, after)
        if args.reload:
            stage(f"reload {args.reload}")
            reload_server(args.reload, server_config(settings).admin_key)
    say(f"stage times: {stage.summary()}")
    assert published is not None  # publish=True
    say(f"retrained in {time.perf_counter() - stage.started:.0f}s: version {published.version} is active")
    return 0


def _report_changes(con, sql, settings, added: int, before: list[tuple], after: list[tuple]) -> None:
    """Each served model's test NDCG@10 before and after, on the test users both evaluations
    scored, with the paired difference's 95 % bootstrap CI: "no significant change" when the CI
    holds 0 (a handful of new ratings rarely moves a model by more than the noise)."""
    from recommender.evaluation.report import REPORT_K, paired_change

    old_version, old_runs = (before[0][0], json.loads(before[0][2] or "{}")) if before else (None, {})
    new_version, new_runs = after[0][0], json.loads(after[0][2] or "{}")
    print(f"feedback ratings added: {added}")
    print(f"version: {old_version if old_version is not None else '-'} -> {new_version}")
    rows: list[tuple] = []
    for model in [*MODEL_NAMES, "ranker"]:
        if model not in new_runs:
            continue
        if model not in old_runs:
            rows.append((model, None, None, None, None, "new in this version"))
            continue
        change = paired_change(con, sql, old_runs[model], new_runs[model], settings.seed)
        if change is None:
            rows.append((model, None, None, None, None, "no test user in common"))
            continue
        diff = change.after - change.before
        verdict = ("better" if diff > 0 else "worse") if change.significant else "no significant change"
        ci = f"[{change.low:+.4f}, {change.high:+.4f}]"
        rows.append((model, change.users, change.before, change.after, ci, verdict))
    columns = ["model", "users", f"ndcg@{REPORT_K} before", f"ndcg@{REPORT_K} after", "95 % CI of change", "verdict"]
    print(box_table(columns, rows), flush=True)
