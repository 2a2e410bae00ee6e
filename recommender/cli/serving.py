"""Serving commands: precompute, serve, versions, rollback."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from recommender.cli.common import (
    WAREHOUSE_FLAGS,
    open_warehouse,
    print_relation,
    reload_server,
    say,
    server_config,
    server_url,
)
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
    p = add(
        "serve",
        "start the API (http://127.0.0.1:8000 by default); publishes the lists first if there are none",
        settings=WAREHOUSE_FLAGS,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=8000, help="port [8000]")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the port; more than one needs the shared PostgreSQL feedback store "
        "(RECSYS_FEEDBACK_URL) [1]",
    )
    p.add_argument(
        "--app-dir",
        type=Path,
        help="the demo app's web export, served at /app (build it with `recsys build-app`) "
        f"[RECSYS_APP_DIR, else ./{DEFAULT_APP_DIR.as_posix()} when it exists]",
    )
    p.set_defaults(handler=cmd_serve)
    versions = add(
        "versions",
        "the published versions: which one is served, their test scores, their folders",
        settings=("warehouse",),
    )
    versions.set_defaults(handler=cmd_versions)
    p = add(
        "rollback",
        "serve an earlier version again (the newest before the active one by default)",
        settings=("warehouse",),
    )
    p.add_argument("version", type=int, nargs="?", help="the version to serve [the newest before the active one]")
    p.add_argument("--reload", metavar="URL", help="then POST URL/admin/reload (key from RECSYS_ADMIN_KEY)")
    p.add_argument(
        "--force",
        action="store_true",
        help="also when the version lists movies rated in CSVs ingested since it was built",
    )
    p.set_defaults(handler=cmd_rollback)


def cmd_precompute(args: argparse.Namespace, settings) -> int:
    from recommender.jobs.publish import precompute_and_publish

    with open_warehouse(settings) as (con, sql):
        published = precompute_and_publish(con, sql, settings, say=say)
    print(published.path)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, on any address ``host`` resolves to (bound the
    way uvicorn binds: SO_REUSEADDR, which still fails while a listener holds the port). Any
    other failure (an address this machine lacks, a privileged port) is left to uvicorn, which
    skips what it cannot use and says why."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserFacingError(f"--host {host}: cannot resolve it ({exc.strerror})") from exc
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise UserFacingError(
                        f"cannot listen on {host}:{port}: the port is in use (another server?); "
                        "stop it or choose another port with --port"
                    ) from exc


def cmd_serve(args: argparse.Namespace, settings) -> int:
    import logging

    import uvicorn

    from recommender.jobs.publish import precompute_and_publish
    from recommender.version import registry
    from server import create_app
    from server.app import WORKER_LOG_LEVEL_ENV
    from server.metrics import MULTIPROCESS_ENV
    from server.runtime import uvicorn_options
    from server.webapp import export_ready

    _check_port_free(args.host, args.port)  # before anything loads: a busy port is one line, not uvicorn's exit
    config = _with_app_dir(server_config(settings), args.app_dir)  # a wrong --app-dir fails next
    if registry.read_pointer(settings.serving_dir) is None:
        say("no published recommendation version: precomputing one first ...")
        with open_warehouse(settings) as (con, sql):
            precompute_and_publish(con, sql, settings, say=say)
    _check_feedback_store(config, settings, args.workers)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    base = f"http://{args.host}:{args.port}"
    app = f"{base}/app" if export_ready(config.app_dir) else "/app not built: run `recsys build-app`"
    say(
        f"serving on {base} with {args.workers} worker{'s' if args.workers > 1 else ''} (demo app: {app}; "
        f"OpenAPI: /schema; admin routes {'enabled' if config.admin_key else 'disabled: set RECSYS_ADMIN_KEY'})"
    )
    if args.workers == 1:
        uvicorn.run(
            create_app(config),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,
            **uvicorn_options(config),
        )
        return 0
    # worker processes build their app from the environment: hand them these settings there,
    # and a folder of their own where prometheus_client's multiprocess mode adds up /metrics
    os.environ.update(settings.as_environ())
    # every worker follows ACTIVE.json: every 2 s unless the settings say how often
    os.environ["RECSYS_VERSION_CHECK_S"] = str(config.version_check_s or 2)
    os.environ[WORKER_LOG_LEVEL_ENV] = args.log_level
    if config.app_dir is not None:
        os.environ["RECSYS_APP_DIR"] = str(config.app_dir)
    given = os.environ.get(MULTIPROCESS_ENV)
    metrics_dir = Path(given) if given else Path(tempfile.mkdtemp(prefix="recsys-metrics-"))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):  # an earlier run's values would be added in
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(metrics_dir)
    try:
        uvicorn.run(
            "server.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=False,
            **uvicorn_options(config),
        )
    finally:
        if not given:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _check_feedback_store(config, settings, workers: int) -> None:
    """Refuse, in one line and before any worker starts, a store the workers cannot share or reach."""
    from recommender.sqlfiles import SqlLibrary

    if workers < 1:
        raise UserFacingError(f"--workers must be at least 1, got {workers}")
    sql = SqlLibrary(settings.sql_dir)
    if config.feedback_url:
        from recommender.feedback.postgres import PostgresFeedbackStore

        PostgresFeedbackStore(config.feedback_url, sql, pool_size=1).close()  # reachable, migrated
        return
    if workers > 1:
        raise UserFacingError(
            f"--workers {workers} needs the shared feedback store: set RECSYS_FEEDBACK_URL=postgresql://... "
            f"(each process would need {config.feedback_path} read-write, which DuckDB allows one process)"
        )
    from recommender.feedback import DuckDBFeedbackStore

    DuckDBFeedbackStore(config.feedback_path, sql).close()  # one server per feedback file


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
    from recommender.version import registry

    with open_warehouse(settings) as (con, sql):
        registry.recover(con, sql, settings, say)
        print_relation(con, sql, "warehouse/versions/list.sql", max_rows=100)
    return 0


def cmd_rollback(args: argparse.Namespace, settings) -> int:
    from recommender.version import registry

    server_url(args.reload, "--reload")  # before anything is switched
    with open_warehouse(settings) as (con, sql):
        previous, active = registry.rollback(con, sql, settings, args.version, force=args.force, say=say)
    say(f"version {active} is active again (was {previous})")
    if args.reload:
        reload_server(args.reload, server_config(settings).admin_key)
    else:
        say("servers switch on POST /admin/reload (or a restart)")
    return 0
