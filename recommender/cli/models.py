"""Model commands: train, tune, evaluate, runs, report."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.common import (
    READ_FLAGS,
    TRIALS_HELP,
    check_engine,
    engine_flags,
    open_warehouse,
    print_relation,
    say,
)
from recommender.errors import UserFacingError
from recommender.names import MODEL_NAMES
from recommender.words import plural

MODELS_HELP = f"comma-separated models, or all: {','.join(MODEL_NAMES)} [all]"


def model_list(text: str) -> list[str]:
    """A --models value: comma-separated model names, or ``all`` (every model, in order)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return list(MODEL_NAMES)
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODEL_NAMES)} or all"
        )
    return sorted(set(names), key=MODEL_NAMES.index)  # the re-rankers after the ALS they re-rank


def register(add) -> None:
    p = add("train", "fit models on train and score them on val (logs a run each)")
    p.add_argument("--models", "--model", dest="models", default="all", type=model_list, help=MODELS_HELP)
    engine_flags(p)
    p.set_defaults(handler=cmd_train)
    p = add("tune", "search a model's parameters on the validation split only")
    p.add_argument("models", type=model_list, metavar="MODELS", help=MODELS_HELP.removesuffix(" [all]"))
    p.add_argument("--trials", type=int, help=TRIALS_HELP)
    p.set_defaults(handler=cmd_tune)
    p = add("evaluate", "final numbers: refit on train+val and score test once (or --part val: refit on train)")
    p.add_argument("--part", dest="eval_part", choices=["test", "val"], default="test", help="the part scored [test]")
    p.add_argument("--models", "--model", dest="models", default="all", type=model_list, help=MODELS_HELP)
    p.add_argument(
        "--folds",
        type=int,
        help="also score the per-user split's rolling-origin folds 2..N (test only; with all models, the ranker "
        "too; the splits are rebuilt when they lack them) [1]",
    )
    engine_flags(p)
    p.set_defaults(handler=cmd_evaluate)
    p = add("runs", "the run log: every fit with its scores, newest first", settings=("warehouse",))
    p.add_argument("--k", type=int, default=10, help="cut-off shown [10]")
    p.add_argument("--limit", type=int, default=30, help="newest runs shown [30]")
    p.add_argument("--kind", choices=["train", "tune", "evaluate", "sweep"], help="only runs of this kind")
    p.set_defaults(handler=cmd_runs)
    p = add(
        "simulate",
        "online evaluation: replay the rating log in time order; at each step fit on everything before it and "
        "score the next window's users on what they then liked (rows in simulation_steps)",
    )
    p.add_argument("--start", required=True, help="the first cut-off, an ISO date such as 2017-01-01")
    p.add_argument("--step", default="30d", help="window length: days (30d) or weeks (2w) [30d]")
    p.add_argument("--steps", type=int, default=6, help="how many windows [6]")
    p.add_argument(
        "--models",
        default="popular,itemknn,als,ease",
        type=model_list,
        help="comma-separated models, or all [popular,itemknn,als,ease]",
    )
    p.set_defaults(handler=cmd_simulate)
    p = add("report", "write reports/report.md: the results with confidence intervals, and plots", settings=READ_FLAGS)
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder [reports]")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the results tables as Markdown instead (what the docs show), writing nothing",
    )
    p.set_defaults(handler=cmd_report)


#: Fewer users than this in an evaluated part and the metrics' confidence intervals are wide.
MIN_EVALUATED_USERS = 100


def warn_small_parts(con, sql, settings) -> None:
    """A warning for each evaluated part (val, test) of the current split with few users."""
    parts = sql.run(con, "warehouse/splits/evaluated_users.sql", {"strategy": settings.split_strategy}).fetchall()
    for part, users in parts:
        if users < MIN_EVALUATED_USERS:
            other = (
                "the per-user split (--split per-user, the default) holds out every user's latest positives"
                if settings.split_strategy == "global"
                else "a larger holdout (--holdout-test) or a larger data set (recsys download ml-25m) gives more"
            )
            say(
                f"warning: {part} has {plural(users, 'user')} with held-out positives "
                f"(fewer than {MIN_EVALUATED_USERS}): "
                f"its metrics vary a lot between runs; {other}"
            )


def print_runs(con, sql, run_ids: list[str]) -> None:
    if run_ids:
        print_relation(con, sql, "warehouse/runs/results.sql", {"run_ids": run_ids})


def cmd_train(args: argparse.Namespace, settings) -> int:
    from recommender.jobs import pipeline

    check_engine(settings)

    with open_warehouse(settings) as (con, sql):
        wb = pipeline.Workbench(con, sql, settings, say=say)
        results = pipeline.train(wb, args.models)
        print_runs(con, sql, [r.run_id for r in results])
    return 0


def cmd_tune(args: argparse.Namespace, settings) -> int:
    from recommender.jobs import pipeline

    if args.trials is not None and args.trials < 1:
        raise UserFacingError("--trials must be at least 1")
    with open_warehouse(settings) as (con, sql):
        wb = pipeline.Workbench(con, sql, settings, say=say)
        # in MODEL_NAMES order: diverse re-ranks the tuned ALS, after it
        for model in sorted(args.models, key=MODEL_NAMES.index):
            say(f"tuning {model} on val ...")
            pipeline.tune(wb, model, args.trials)
    return 0


def cmd_evaluate(args: argparse.Namespace, settings) -> int:
    from recommender.jobs import pipeline

    check_engine(settings)

    with open_warehouse(settings) as (con, sql):
        wb = pipeline.Workbench(con, sql, settings, say=say)
        warn_small_parts(con, sql, settings)
        say(f"refitting on {'+'.join(pipeline.FIT_PARTS[args.eval_part])}, scoring {args.eval_part} ...")
        results = pipeline.evaluate_final(wb, args.models, args.eval_part)
        if settings.fold_count > 1:
            if args.eval_part != "test":
                raise UserFacingError("--folds scores test: leave out --part val")
            results += _later_folds(con, sql, settings, args.models)
        print_runs(con, sql, [r.run_id for r in results])
    return 0


def _later_folds(con, sql, settings, models: list[str]) -> list:
    from recommender.jobs.folds import evaluate_later_folds, missing_folds
    from recommender.warehouse.splits import build_splits

    if missing_folds(con, sql, settings):
        say(f"building the {settings.base_strategy} split's folds 2..{settings.fold_count} (the splits are rebuilt)")
        build_splits(con, sql, settings)
    # every model: the ranker's folds too (it is trained over them)
    return evaluate_later_folds(con, sql, settings, models, ranker=set(models) == set(MODEL_NAMES), say=say)


def cmd_runs(args: argparse.Namespace, settings) -> int:
    with open_warehouse(settings, read_only=True) as (con, sql):
        print_relation(
            con,
            sql,
            "warehouse/runs/run_log.sql",
            {"k": args.k, "kind": args.kind, "limit": args.limit},
            max_rows=args.limit,
        )
    return 0


def cmd_simulate(args: argparse.Namespace, settings) -> int:
    from datetime import datetime

    from recommender.jobs.simulation import parse_step, simulate

    models = args.models
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise UserFacingError(f"--start takes an ISO date such as 2017-01-01, got {args.start!r}") from None
    if args.steps < 1:
        raise UserFacingError("--steps must be at least 1")
    step = parse_step(args.step)
    with open_warehouse(settings) as (con, sql):
        from recommender.warehouse.jobs import job

        with job(con, "simulate", settings):
            simulation_id = simulate(con, sql, settings, start, step, args.steps, models, say=say)
        print_relation(con, sql, "warehouse/simulation/steps.sql", {"simulation_id": simulation_id}, max_rows=500)
    say(f"simulation {simulation_id}: rows in simulation_steps; `recsys report` plots them")
    return 0


def cmd_report(args: argparse.Namespace, settings) -> int:
    from recommender.evaluation.report import folds_markdown, results_markdown, write_report

    if args.markdown:
        with open_warehouse(settings, read_only=True) as (con, sql):
            print(results_markdown(con, sql, settings), end="")
            folds = folds_markdown(con, sql, settings)
            print(f"\n{folds}" if folds else "", end="")
        return 0
    with open_warehouse(settings) as (con, sql):
        path = write_report(con, sql, settings, args.out, say=say)
    print(path)
    return 0
