"""Warehouse subcommands of ``recsys`` (migrate, ingest, split, sql, download)."""

from __future__ import annotations

import argparse
import contextlib
from typing import Iterator

import duckdb

from recommender.cli import UserFacingError, command, say
from recommender.config import Settings
from recommender.warehouse.connection import SqlLibrary, connect
from recommender.warehouse.download import DownloadError, download
from recommender.warehouse.ingest import IngestError, ingest
from recommender.warehouse.jobs import job
from recommender.warehouse.migrations import MigrationError, migrate, pending
from recommender.warehouse.splits import build_splits


@contextlib.contextmanager
def open_warehouse(settings: Settings, *, read_only: bool = False) -> Iterator[tuple[duckdb.DuckDBPyConnection, SqlLibrary]]:
    """A connection to an up-to-date warehouse plus the SQL library; closed on exit."""
    if read_only and not settings.warehouse.exists():
        raise UserFacingError(f"no warehouse at {settings.warehouse}; run `recsys migrate` and `recsys ingest DIR` first")
    con = connect(settings, read_only=read_only)
    try:
        missing = pending(con, settings.sql_dir)
        if missing:
            raise UserFacingError(
                f"{settings.warehouse} lacks {len(missing)} migration(s) "
                f"(first: {missing[0].path.name}); run `recsys migrate`"
            )
        yield con, SqlLibrary(settings.sql_dir)
    finally:
        con.close()


def print_relation(con: duckdb.DuckDBPyConnection, query: str, max_rows: int = 40, params: dict | None = None) -> None:
    """Print a query result as DuckDB's box table (the readable format of its own shell)."""
    rel = con.sql(query, params=params)
    if rel is None:
        print("ok")
        return
    rel.show(max_rows=max_rows, max_width=200)


@command("migrate")
def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    con = connect(settings)
    try:
        applied = migrate(con, settings.sql_dir)
    except MigrationError as exc:
        raise UserFacingError(str(exc)) from exc
    finally:
        con.close()
    if applied:
        for m in applied:
            say(f"applied {m.path.name}")
    else:
        say(f"{settings.warehouse} is up to date")
    return 0


@command("ingest")
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings) as (con, sql):
        with job(con, f"ingest {args.dir}", settings):
            try:
                result = ingest(con, sql, args.dir, force=args.force, say=say)
            except IngestError as exc:
                raise UserFacingError(f"{exc} (nothing was changed)") from exc
            if not result.unchanged:
                say("building feature views and splits ...")
                build_splits(con, sql, settings)
        print_relation(con, "select * from split_summary")
    return 0


@command("split")
def cmd_split(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings) as (con, sql):
        with job(con, "split", settings):
            build_splits(con, sql, settings)
        print_relation(con, "select * from split_summary")
    return 0


@command("sql")
def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    with open_warehouse(settings) as (con, _):
        try:
            print_relation(con, args.query, args.max_rows)
        except duckdb.Error as exc:
            raise UserFacingError(str(exc).splitlines()[0]) from exc
    return 0


@command("download")
def cmd_download(args: argparse.Namespace, settings: Settings) -> int:
    kwargs = {"base_url": args.base_url} if args.base_url else {}
    try:
        folder = download(args.name, settings.data_dir, **kwargs)
    except DownloadError as exc:
        raise UserFacingError(str(exc)) from exc
    say(f"{args.name} is in {folder}; next: recsys ingest {folder}")
    print(folder)
    return 0
