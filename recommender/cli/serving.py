"""Serving commands: precompute, serve, versions, rollback."""

from __future__ import annotations

import argparse
from pathlib import Path

from recommender.cli.common import open_warehouse, print_relation, reload_server, say, server_config, server_url
from recommender.errors import UserFacingError

#: The demo app's web export that `recsys serve` finds on its own (relative to the current folder).
DEFAULT_APP_DIR = Path("demo-app") / "dist"


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
    p.add_argument(
        "--app-dir",
        type=Path,
        help="the demo app's web export, served at /app (build it with `recsys build-app`) "
        f"[RECSYS_APP_DIR, else ./{DEFAULT_APP_DIR.as_posix()} when it exists]",
    )
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
    from server.webapp import export_ready

    config = _with_app_dir(server_config(settings), args.app_dir)  # a wrong --app-dir fails first
    if versions.read_pointer(settings.serving_dir) is None:
        say("no published recommendation version: precomputing one first ...")
        with open_warehouse(settings) as (con, sql):
            precompute_and_publish(con, sql, settings, say=say)
    # one server per feedback file: find out now, in one line, rather than in the app's start-up
    from recommender.feedback import DuckDBFeedbackStore
    from recommender.warehouse.connection import SqlLibrary

    DuckDBFeedbackStore(config.feedback_path, SqlLibrary(settings.sql_dir)).close()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    base = f"http://{args.host}:{args.port}"
    app = f"{base}/app" if export_ready(config.app_dir) else "/app not built: run `recsys build-app`"
    say(
        f"serving on {base} (demo app: {app}; OpenAPI: /schema; admin routes "
        f"{'enabled' if config.admin_key else 'disabled: set RECSYS_ADMIN_KEY'})"
    )
    # one worker: the server owns feedback.duckdb read-write, which only one process may do
    uvicorn.run(
        create_app(config), host=args.host, port=args.port, workers=1, log_level=args.log_level, access_log=False
    )
    return 0


def _with_app_dir(config, app_dir: Path | None):
    """The server config with the demo app's export folder: --app-dir (which must hold a
    built export), else RECSYS_APP_DIR, else ./demo-app/dist when it exists."""
    import dataclasses

    from server.webapp import export_ready

    if app_dir is not None:
        if not export_ready(app_dir):
            raise UserFacingError(
                f"--app-dir {app_dir}: no web export there (no index.html); build it with `recsys build-app`"
            )
        return dataclasses.replace(config, app_dir=app_dir)
    if config.app_dir is None and DEFAULT_APP_DIR.is_dir():
        return dataclasses.replace(config, app_dir=DEFAULT_APP_DIR)
    return config


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
