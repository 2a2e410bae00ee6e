"""Warehouse commands: migrate, ingest, split, sql, download, ingest-feedback."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.common import open_warehouse, print_relation, say, server_config
from recommender.cli.common import server_url as checked_url
from recommender.errors import UserFacingError
from recommender.faults import failpoint


def register(add) -> None:
    add("migrate", "create or update the warehouse schema (sql/warehouse/migrations)").set_defaults(handler=cmd_migrate)
    p = add("ingest", "load the MovieLens CSVs of DIR, then rebuild the splits")
    p.add_argument("dir", type=Path, help="folder with ratings.csv, movies.csv [tags.csv, links.csv]")
    p.add_argument("--force", action="store_true", help="reload even if the files did not change")
    p.set_defaults(handler=cmd_ingest)
    add("split", "rebuild both time-based splits with the current settings").set_defaults(handler=cmd_split)
    p = add("sql", "run an ad-hoc query against the warehouse and print the result")
    p.add_argument("query", help='SQL text, e.g. "select * from split_summary"')
    p.add_argument("--max-rows", type=int, default=40, help="rows to print [40]")
    p.set_defaults(handler=cmd_sql)
    p = add("download", "download a MovieLens data set from GroupLens into --data-dir")
    p.add_argument("name", choices=["ml-latest-small", "ml-25m"])
    p.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_download)
    p = add(
        "ingest-feedback", "copy the ratings posted to the API into the warehouse (idempotent), then rebuild the splits"
    )
    feedback_flags(p)
    p.set_defaults(handler=cmd_ingest_feedback)


def feedback_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--feedback-db",
        type=Path,
        help="the server's feedback file, read while no server holds it "
        "[RECSYS_FEEDBACK_DB, else <artifacts>/feedback.duckdb]",
    )
    g.add_argument(
        "--server",
        metavar="URL",
        help="read the feedback through a running server (GET /admin/feedback, key from RECSYS_ADMIN_KEY)",
    )


def cmd_migrate(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.connection import connect
    from recommender.warehouse.migrations import migrate

    con = connect(settings)
    try:
        applied = migrate(con, settings.sql_dir)
    finally:
        con.close()
    for m in applied:
        say(f"applied {m.path.name}")
    if not applied:
        say(f"{settings.warehouse} is up to date")
    return 0


def cmd_ingest(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.ingest import ingest
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    with open_warehouse(settings) as (con, sql):
        with job(con, f"ingest {args.dir}", settings):
            result = ingest(con, sql, args.dir, force=args.force, say=say)
            failpoint("ingest:loaded")
            # unchanged files still need splits if an interrupted ingest never finished them
            if not result.unchanged or sql.run(con, "warehouse/splits/stale.sql").fetchall()[0][0]:
                say("building feature views and splits ...")
                build_splits(con, sql, settings)
        print_relation(con, sql, "warehouse/splits/summary.sql", {"strategy": None})
    return 0


def cmd_split(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    with open_warehouse(settings) as (con, sql):
        with job(con, "split", settings):
            build_splits(con, sql, settings)
        print_relation(con, sql, "warehouse/splits/summary.sql", {"strategy": None})
    return 0


def cmd_sql(args: argparse.Namespace, settings) -> int:
    import duckdb

    with open_warehouse(settings) as (con, _):
        try:
            # the user's own query: the one place where SQL text comes from outside sql/
            rel = con.sql(args.query)
        except duckdb.Error as exc:
            raise UserFacingError(str(exc).splitlines()[0]) from exc
        if rel is None:
            print("ok")
        else:
            rel.show(max_rows=args.max_rows, max_width=200)
    return 0


def cmd_download(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.download import download

    kwargs = {"base_url": args.base_url} if args.base_url else {}
    folder = download(args.name, settings.data_dir, **kwargs)
    say(f"{args.name} is in {folder}; next: recsys ingest {folder}")
    print(folder)
    return 0


def feedback_source(args: argparse.Namespace, settings, sql, server_url: str | None = None):
    """Where the API's ratings are read from: a server (--server, or the one given to
    --reload), else the feedback file (None when there is none yet)."""
    from recommender.feedback import DuckDBFeedbackStore, HttpFeedbackSource

    config = server_config(settings)
    url = checked_url(getattr(args, "server", None), "--server") or (server_url if not args.feedback_db else None)
    if url:
        return HttpFeedbackSource(url, config.admin_key)
    path = args.feedback_db or config.feedback_path
    if not Path(path).exists():
        say(f"no feedback file at {path}: no API ratings to copy")
        return None
    return DuckDBFeedbackStore(path, sql, read_only=True)


def copy_feedback(con, sql, source) -> int:
    """Copy a source's new ratings into the warehouse; returns how many were added."""
    from recommender.warehouse.feedback import ingest_feedback

    if source is None:
        return 0
    try:
        return ingest_feedback(con, sql, source, say=say).added
    finally:
        close = getattr(source, "close", None)
        if close:
            close()


def cmd_ingest_feedback(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    with open_warehouse(settings) as (con, sql):
        with job(con, "ingest-feedback", settings):
            added = copy_feedback(con, sql, feedback_source(args, settings, sql))
            # also when nothing was added: a copy whose rebuild was interrupted left them stale
            if added or sql.run(con, "warehouse/splits/stale.sql").fetchall()[0][0]:
                say("rebuilding the splits ...")
                build_splits(con, sql, settings)
        print_relation(con, sql, "warehouse/ingest/feedback_counts.sql")
    return 0
