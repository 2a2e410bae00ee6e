"""Serving commands: precompute, serve, versions, rollback."""

from __future__ import annotations

import argparse

from recommender.cli.common import open_warehouse, print_relation, reload_server, say, server_config, server_url


def register(add) -> None:
    p = add(
        "precompute",
        "refit every model on all ratings, write every user's lists to a new serving version, check it, publish it",
    )
    p.add_argument(
        "--keep",
        dest="serving_keep",
        type=int,
        help="versions kept on disk, the new one included; older folders are deleted [3]",
    )
    p.set_defaults(handler=cmd_precompute)
    p = add("serve", "start the API (uvicorn + Litestar); precomputes first if nothing is published")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=8000, help="port [8000]")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(handler=cmd_serve)
    add("versions", "the published versions: status, test metrics, folder").set_defaults(handler=cmd_versions)
    p = add("rollback", "make an earlier, still present version active again")
    p.add_argument("version", type=int, nargs="?", help="the version to serve [the newest before the active one]")
    p.add_argument("--reload", metavar="URL", help="then POST URL/admin/reload (key from RECSYS_ADMIN_KEY)")
    p.add_argument(
        "--force",
        action="store_true",
        help="also when the version lists movies rated in CSVs ingested since it was built",
    )
    p.set_defaults(handler=cmd_rollback)


def cmd_precompute(args: argparse.Namespace, settings) -> int:
    from recommender.serving.precompute import precompute_and_publish

    with open_warehouse(settings) as (con, sql):
        published = precompute_and_publish(con, sql, settings, say=say)
    print(published.path)
    return 0


def cmd_serve(args: argparse.Namespace, settings) -> int:
    import logging

    import uvicorn

    from recommender.serving import versions
    from recommender.serving.precompute import precompute_and_publish
    from server import create_app

    if versions.read_pointer(settings.serving_dir) is None:
        say("no published recommendation version: precomputing one first ...")
        with open_warehouse(settings) as (con, sql):
            precompute_and_publish(con, sql, settings, say=say)
    config = server_config(settings)
    # one server per feedback file: find out now, in one line, rather than in the app's start-up
    from recommender.feedback import DuckDBFeedbackStore
    from recommender.warehouse.connection import SqlLibrary

    DuckDBFeedbackStore(config.feedback_path, SqlLibrary(settings.sql_dir)).close()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    say(
        f"serving on http://{args.host}:{args.port} (OpenAPI: /schema; admin routes "
        f"{'enabled' if config.admin_key else 'disabled: set RECSYS_ADMIN_KEY'})"
    )
    # one worker: the server owns feedback.duckdb read-write, which only one process may do
    uvicorn.run(
        create_app(config), host=args.host, port=args.port, workers=1, log_level=args.log_level, access_log=False
    )
    return 0


def cmd_versions(args: argparse.Namespace, settings) -> int:
    from recommender.serving import versions

    with open_warehouse(settings) as (con, sql):
        versions.recover(con, sql, settings, say)
        print_relation(con, sql, "warehouse/versions/list.sql", max_rows=100)
    return 0


def cmd_rollback(args: argparse.Namespace, settings) -> int:
    from recommender.serving import versions

    server_url(args.reload, "--reload")  # before anything is switched
    with open_warehouse(settings) as (con, sql):
        previous, active = versions.rollback(con, sql, settings, args.version, force=args.force, say=say)
    say(f"version {active} is active again (was {previous})")
    if args.reload:
        reload_server(args.reload, server_config(settings).admin_key)
    else:
        say("servers switch on POST /admin/reload (or a restart)")
    return 0
