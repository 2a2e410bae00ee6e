"""Model subcommands of ``recsys``: train, tune, evaluate, runs, report, run."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender import pipeline
from recommender.cli import UserFacingError, _EXTENSIONS, command, say
from recommender.commands import open_warehouse
from recommender.config import Settings
from recommender.models import MODEL_NAMES, ModelError

MODEL_CHOICES = [*MODEL_NAMES, "all"]


def _register(sub, add) -> None:
    p = add("train", "fit models on train and score them on val (logs a run each)")
    p.add_argument("--model", "--models", dest="model", default="all", choices=MODEL_CHOICES)
    p = add("tune", "search a model's parameters on the validation split only")
    p.add_argument("model", choices=[*MODEL_NAMES, "all"])
    p.add_argument("--trials", type=int, default=20, help="configurations to try [20]")
    # here --split is the part scored (the issue's `evaluate --split test`); the strategy is --strategy
    p = add("evaluate", "final numbers: refit on train+val and score test once (or --split val)", ("--strategy",))
    p.add_argument("--split", dest="eval_split", choices=["test", "val"], default="test")
    p.add_argument("--models", "--model", dest="model", default="all", choices=MODEL_CHOICES)
    p = add("runs", "the run log as a comparison table")
    p.add_argument("--k", type=int, default=10, help="cut-off shown [10]")
    p.add_argument("--limit", type=int, default=30, help="newest runs shown [30]")
    p.add_argument("--kind", choices=["train", "tune", "evaluate", "sweep"], help="only runs of this kind")
    p = add("report", "write reports/report.md with confidence intervals and PNG plots")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder [reports]")
    p = add("run", "the main job: migrate, ingest, tune, evaluate, report (and precompute)")
    p.add_argument("dir", type=Path, help="MovieLens folder (ratings.csv, movies.csv, ...)")
    p.add_argument("--trials", type=int, default=12, help="tuning configurations per model [12]")
    p.add_argument("--out", type=Path, default=Path("reports"), help="report folder [reports]")
    p.add_argument("--no-precompute", action="store_true", help="stop after the report")
    p = add("precompute", "write every user's lists to a new serving version, check it, publish it")
    p.add_argument("--keep", dest="serving_keep", type=int,
                   help="versions kept on disk, the new one included; older folders are deleted [3]")
    p = add("serve", "start the API (uvicorn + Litestar); precomputes first if nothing is published")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=8000, help="port [8000]")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


_EXTENSIONS.append(_register)


def _workbench(con, sql, settings: Settings) -> pipeline.Workbench:
    try:
        return pipeline.Workbench(con, sql, settings, say=say)
    except ValueError as exc:
        raise UserFacingError(str(exc)) from exc


@command("train")
def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings) as (con, sql):
        wb = _workbench(con, sql, settings)
        try:
            results = pipeline.train(wb, pipeline.expand(args.model))
        except ModelError as exc:
            raise UserFacingError(str(exc)) from exc
        _print_runs(con, [r.run_id for r in results])
    return 0


@command("tune")
def cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    if args.trials < 1:
        raise UserFacingError("--trials must be at least 1")
    with open_warehouse(settings) as (con, sql):
        wb = _workbench(con, sql, settings)
        models = ["popular", "itemknn", "als", "diverse"] if args.model == "all" else [args.model]
        for model in models:  # diverse re-ranks the tuned ALS, so it comes after it
            say(f"tuning {model} on val ...")
            pipeline.tune(wb, model, args.trials)
    return 0


@command("evaluate")
def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings) as (con, sql):
        wb = _workbench(con, sql, settings)
        say(f"refitting on {'+'.join(pipeline.FIT_PARTS[args.eval_split])}, scoring {args.eval_split} ...")
        results = pipeline.evaluate_final(wb, pipeline.expand(args.model), args.eval_split)
        _print_runs(con, [r.run_id for r in results])
    return 0


@command("runs")
def cmd_runs(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings, read_only=True) as (con, _):
        rel = con.sql(
            "select * exclude (params) from run_table($k) where $kind is null or kind = $kind limit $limit",
            params={"k": args.k, "kind": args.kind, "limit": args.limit},
        )
        rel.show(max_rows=args.limit, max_width=250)
    return 0


@command("report")
def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.evaluation.report import write_report

    with open_warehouse(settings) as (con, sql):
        try:
            path = write_report(con, sql, settings, args.out, say=say)
        except ValueError as exc:
            raise UserFacingError(str(exc)) from exc
    print(path)
    return 0


@command("run")
def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.run_job import run_main_job

    return run_main_job(settings, args.dir, trials=args.trials, out=args.out, precompute=not args.no_precompute)


def _print_runs(con, run_ids: list[str]) -> None:
    if not run_ids:
        return
    rel = con.sql(
        "select model, strategy, split, users, precision, recall, ndcg, map, mrr, hit_rate, coverage, diversity, novelty, fit_s, run_id "
        "from run_table(10) where list_contains($ids, run_id) order by model",
        params={"ids": run_ids},
    )
    rel.show(max_width=250)


@command("precompute")
def cmd_precompute(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.serving.precompute import PublishError, precompute_and_publish

    with open_warehouse(settings) as (con, sql):
        try:
            published = precompute_and_publish(con, sql, settings, say=say)
        except (PublishError, ValueError) as exc:
            raise UserFacingError(str(exc)) from exc
    print(published.path)
    return 0


@command("serve")
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvicorn

    from recommender.serving import versions
    from recommender.serving.precompute import PublishError, precompute_and_publish
    from server import ServerConfig, create_app

    if versions.read_pointer(settings.serving_dir) is None:
        say("no published recommendation version: precomputing one first ...")
        with open_warehouse(settings) as (con, sql):
            try:
                precompute_and_publish(con, sql, settings, say=say)
            except (PublishError, ValueError) as exc:
                raise UserFacingError(f"cannot serve: {exc}") from exc
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = ServerConfig.from_env(settings)
    say(f"serving on http://{args.host}:{args.port} (OpenAPI: /schema; admin routes "
        f"{'enabled' if config.admin_key else 'disabled: set RECSYS_ADMIN_KEY'})")
    # one worker: the server owns feedback.duckdb read-write, which only one process may do
    uvicorn.run(create_app(config), host=args.host, port=args.port, workers=1, log_level=args.log_level,
                access_log=False)
    return 0
