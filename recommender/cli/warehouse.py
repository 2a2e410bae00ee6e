"""Warehouse commands: migrate, ingest, split, sql, download, ingest-feedback."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.common import WAREHOUSE_FLAGS, open_warehouse, print_relation, progress_bars, say, server_config
from recommender.cli.common import server_url as checked_url
from recommender.datasets import EDITIONS as EDITION_NAMES
from recommender.errors import UserFacingError
from recommender.faults import failpoint
from recommender.words import plural


def register(add) -> None:
    add(
        "migrate", "create or update the warehouse schema (sql/warehouse/migrations)", settings=WAREHOUSE_FLAGS
    ).set_defaults(handler=cmd_migrate)
    p = add("ingest", "load a MovieLens folder (the bundled ml-latest-small without DIR), then rebuild the splits")
    data_dir_argument(p)
    p.add_argument("--force", action="store_true", help="reload even if the files did not change")
    p.set_defaults(handler=cmd_ingest)
    add("split", "rebuild both time-based splits with the current settings").set_defaults(handler=cmd_split)
    p = add("sql", "run ad-hoc SQL against the warehouse and print each statement's result", settings=WAREHOUSE_FLAGS)
    p.add_argument("query", help='SQL text, e.g. "select * from split_summary"; several statements separated by ;')
    p.add_argument("--max-rows", type=int, default=40, help="rows to print [40]")
    p.set_defaults(handler=cmd_sql)
    p = add("download", "download a MovieLens data set from GroupLens into --data-dir", settings=("data_dir",))
    p.add_argument("name", choices=list(EDITION_NAMES), help="a MovieLens edition: " + ", ".join(EDITION_NAMES))
    p.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_download)
    p = add(
        "ingest-feedback", "copy the ratings posted to the API into the warehouse (idempotent), then rebuild the splits"
    )
    feedback_flags(p)
    p.set_defaults(handler=cmd_ingest_feedback)


def data_dir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dir",
        type=Path,
        nargs="?",
        help="a MovieLens folder: ratings.csv, movies.csv [tags.csv, links.csv] (or .csv.gz), or MovieLens 100K's "
        "u.data, u.item [the bundled ml-latest-small]",
    )


def data_folder(given: Path | None) -> Path:
    """The folder to ingest: the one given (refused at once if it is no MovieLens layout this
    version reads), else the bundled MovieLens ml-latest-small (said so)."""
    from recommender.datasets import BUNDLED_NAME, bundled_dir
    from recommender.warehouse.ingest import detect_layout

    if given is not None:
        detect_layout(given)  # before anything is created or migrated
        return given

    folder = bundled_dir()
    say(f"data: the bundled MovieLens {BUNDLED_NAME} (610 users, 100,836 ratings; licence: {folder}/README.txt)")
    return folder


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
    g.add_argument(
        "--feedback-url",
        metavar="URL",
        help="read the feedback from the servers' shared PostgreSQL store [RECSYS_FEEDBACK_URL]",
    )


def cmd_migrate(args: argparse.Namespace, settings) -> int:
    if not migrate_warehouse(settings):
        say(f"{settings.warehouse} is up to date")
    return 0


def migrate_warehouse(settings) -> list:
    """Create or update the warehouse schema; says each migration applied and returns them."""
    from recommender.warehouse.connection import connect
    from recommender.warehouse.migrations import migrate

    con = connect(settings, progress=progress_bars())
    try:
        applied = migrate(con, settings.sql_dir)
    finally:
        con.close()
    for m in applied:
        say(f"applied {m.path.name}")
    return applied


def cmd_ingest(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.ingest import ingest
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    folder = data_folder(args.dir)
    migrate_warehouse(settings)  # a new warehouse needs no separate `recsys migrate`
    with open_warehouse(settings) as (con, sql):
        with job(con, f"ingest {folder}", settings):
            result = ingest(con, sql, folder, force=args.force, say=say)
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


#: Statements whose result is rows to show; the others print a count or "ok".
_ROW_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "CALL", "RELATION"}
_COUNT_STATEMENTS = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}


def cmd_sql(args: argparse.Namespace, settings) -> int:
    import duckdb

    with open_warehouse(settings) as (con, _):
        # the user's own SQL: the one place where SQL text comes from outside sql/
        try:
            statements = con.extract_statements(args.query)
        except duckdb.Error as exc:
            raise UserFacingError(str(exc).splitlines()[0]) from exc
        for number, statement in enumerate(statements, 1):
            try:
                kind = statement.type.name
                if kind in _ROW_STATEMENTS:
                    rel = con.sql(statement.query)  # lazy: runs once, when shown
                    if rel is not None:
                        rel.show(max_rows=args.max_rows, max_width=200)
                    continue
                result = con.execute(statement.query).fetchall()
                if kind in _COUNT_STATEMENTS and result:
                    print(f"{plural(result[0][0], 'row')} {_COUNT_STATEMENTS[kind]}")
                else:
                    print(f"ok ({kind.lower()})")
            except duckdb.Error as exc:
                where = f"statement {number} of {len(statements)}: " if len(statements) > 1 else ""
                raise UserFacingError(where + str(exc).splitlines()[0]) from exc
    return 0


def cmd_download(args: argparse.Namespace, settings) -> int:
    from recommender.warehouse.download import download

    kwargs = {"base_url": args.base_url} if args.base_url else {}
    folder = download(args.name, settings.data_dir, progress=progress_bars(), **kwargs)
    say(f"{args.name} is in {folder}; next: recsys ingest {folder}")
    print(folder)
    return 0


def feedback_source(args: argparse.Namespace, settings, sql, server_url: str | None = None):
    """Where the API's ratings are read from: a server (--server, or the one given to
    --reload), the shared PostgreSQL store (--feedback-url or RECSYS_FEEDBACK_URL), else the
    feedback file (None when there is none yet)."""
    from recommender.feedback import DuckDBFeedbackStore, HttpFeedbackSource

    config = server_config(settings)
    server = checked_url(getattr(args, "server", None), "--server")  # a flag wins over the environment
    database = getattr(args, "feedback_url", None) or (None if args.feedback_db or server else config.feedback_url)
    if database:
        from recommender.feedback.postgres import PostgresFeedbackStore, is_postgres_url

        if not is_postgres_url(database):  # never echoed: it may hold a password
            raise UserFacingError("--feedback-url must be a postgresql://... URL")
        return PostgresFeedbackStore(database, sql, pool_size=1)
    url = server or (server_url if not args.feedback_db else None)
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
