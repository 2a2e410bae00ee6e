"""The closed loop's subcommands of ``recsys``: ingest-feedback, retrain, versions, rollback."""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from recommender.cli import _EXTENSIONS, command, say
from recommender.commands import open_warehouse, print_relation
from recommender.config import Settings
from recommender.errors import UserFacingError
from recommender.feedback import DuckDBFeedbackStore, FeedbackSource, HttpFeedbackSource
from recommender.warehouse.connection import SqlLibrary


def _feedback_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--feedback-db", type=Path,
                   help="the server's feedback file, read while no server holds it "
                        "[RECSYS_FEEDBACK_DB, else <artifacts>/feedback.duckdb]")
    g.add_argument("--server", metavar="URL",
                   help="read the feedback through a running server (GET /admin/feedback, key from RECSYS_ADMIN_KEY)")


def _register(sub, add) -> None:
    p = add("ingest-feedback", "copy the ratings posted to the API into the warehouse (idempotent), then rebuild the splits")
    _feedback_flags(p)
    p = add("retrain", "ingest feedback, rebuild splits, evaluate the stored configurations, refit on all data, "
                       "publish a new version (and reload a server)")
    _feedback_flags(p)
    p.add_argument("--reload", metavar="URL",
                   help="after publishing, POST URL/admin/reload (key from RECSYS_ADMIN_KEY); also where the "
                        "feedback is read from unless --feedback-db or --server says otherwise")
    p.add_argument("--tune", action="store_true", help="tune every model on val again first")
    p.add_argument("--trials", type=int, default=12, help="with --tune: configurations per model [12]")
    p.add_argument("--keep", dest="serving_keep", type=int, help="versions kept on disk [3]")
    add("versions", "the published versions: status, test metrics, folder")
    p = add("rollback", "make an earlier, still present version active again")
    p.add_argument("version", type=int, nargs="?", help="the version to serve [the newest before the active one]")
    p.add_argument("--reload", metavar="URL", help="then POST URL/admin/reload (key from RECSYS_ADMIN_KEY)")


_EXTENSIONS.append(_register)


def _server_config(settings: Settings):
    from server.config import ServerConfig  # the feedback file and admin key are server settings

    return ServerConfig.from_env(settings)


def _feedback_source(args: argparse.Namespace, settings: Settings, sql: SqlLibrary,
                     server_url: str | None = None) -> FeedbackSource | None:
    """Where the API's ratings are read from: a server (--server, or --reload's), else the file."""
    config = _server_config(settings)
    url = getattr(args, "server", None) or (server_url if not args.feedback_db else None)
    if url:
        return HttpFeedbackSource(url, config.admin_key)
    path = args.feedback_db or config.feedback_path
    if not Path(path).exists():
        say(f"no feedback file at {path}: no API ratings to copy")
        return None
    return DuckDBFeedbackStore(path, sql, read_only=True)


def _copy_feedback(con, sql: SqlLibrary, source: FeedbackSource | None) -> int:
    from recommender.warehouse.feedback import ingest_feedback

    if source is None:
        return 0
    try:
        return ingest_feedback(con, sql, source, say=say).added
    finally:
        if isinstance(source, DuckDBFeedbackStore):
            source.close()


@command("ingest-feedback")
def cmd_ingest_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    with open_warehouse(settings) as (con, sql):
        with job(con, "ingest-feedback", settings):
            added = _copy_feedback(con, sql, _feedback_source(args, settings, sql))
            if added:
                say("rebuilding the splits ...")
                build_splits(con, sql, settings)
        print_relation(con, sql.text("ingest/feedback_counts.sql"))
    return 0


@command("retrain")
def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    from recommender import pipeline
    from recommender.serving.precompute import precompute_and_publish
    from recommender.warehouse.jobs import job
    from recommender.warehouse.splits import build_splits

    if args.tune and args.trials < 1:
        raise UserFacingError("--trials must be at least 1")
    started = time.perf_counter()
    total = 6 if args.reload else 5
    timings: list[tuple[str, float]] = []

    def stage(n: int, text: str) -> None:
        timings.append((text, time.perf_counter()))
        say(f"[{n}/{total}] {text}  (+{time.perf_counter() - started:.0f}s)")

    with open_warehouse(settings) as (con, sql):
        with job(con, "retrain", settings):
            before = sql.run(con, "versions/active.sql").fetchall()
            stage(1, "ingest feedback from the API")
            added = _copy_feedback(con, sql, _feedback_source(args, settings, sql, args.reload))
            stage(2, "rebuild the splits")
            build_splits(con, sql, settings)
            wb = pipeline.Workbench(con, sql, settings, say=say)
            if args.tune:
                stage(3, f"tune on val ({args.trials} trials per model) and evaluate on test")
                for model in ("popular", "itemknn", "als", "diverse"):
                    pipeline.tune(wb, model, args.trials)
            else:
                stage(3, "evaluate the stored configurations on test (refit on train+val)")
            pipeline.evaluate_final(wb, ["all"])
            del wb  # the split's matrices are not needed for the production fit
            stage(4, "production refit on every rating, precompute, checks, publish")
            published = precompute_and_publish(con, sql, settings, say=say)
            after = sql.run(con, "versions/active.sql").fetchall()
        stage(5, "report")
        _report_changes(added, before, after)
        if args.reload:
            stage(6, f"reload {args.reload}")
            _reload(args.reload, _server_config(settings).admin_key)
    timings.append(("done", time.perf_counter()))
    say("stage times: " + ", ".join(f"{name.split(' ')[0]} {end - start:.1f}s"
                                    for (name, start), (_, end) in zip(timings, timings[1:])))
    say(f"retrained in {time.perf_counter() - started:.0f}s: version {published.version} is active")
    return 0


def _report_changes(added: int, before: list[tuple], after: list[tuple]) -> None:
    old_version, old_metrics = (before[0][0], json.loads(before[0][1])) if before else (None, {})
    new_version, new_metrics = after[0][0], json.loads(after[0][1])
    print(f"feedback ratings added: {added}")
    print(f"version: {old_version if old_version is not None else '-'} -> {new_version}")
    print(f"{'model':8s}  {'ndcg@10 before':>14s}  {'ndcg@10 after':>13s}  {'change':>8s}")
    for model in sorted(new_metrics):
        new = new_metrics[model].get("ndcg")
        old = old_metrics.get(model, {}).get("ndcg")
        change = f"{(new - old) / old:+.1%}" if old and new is not None else ""
        print(f"{model:8s}  {old if old is not None else float('nan'):14.4f}  {new:13.4f}  {change:>8s}")


def _reload(url: str, api_key: str | None) -> None:
    if not api_key:
        raise UserFacingError("--reload needs the server's admin key in RECSYS_ADMIN_KEY")
    request = urllib.request.Request(url.rstrip("/") + "/admin/reload", method="POST", headers={"X-API-Key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            say(f"{url}: {response.read().decode()}")
    except urllib.error.HTTPError as exc:
        raise UserFacingError(f"{url}/admin/reload answered {exc.code}: {exc.read().decode(errors='replace')}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UserFacingError(f"{url}/admin/reload: cannot reach the server ({exc}); the new version is "
                              "published, reload or restart the server to serve it") from exc


@command("versions")
def cmd_versions(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.serving import versions

    with open_warehouse(settings) as (con, sql):
        versions.recover(con, sql, settings, say)
        print_relation(con, sql.text("versions/list.sql"), max_rows=100)
    return 0


@command("rollback")
def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from recommender.serving import versions

    with open_warehouse(settings) as (con, sql):
        previous, active = versions.rollback(con, sql, settings, args.version)
    say(f"version {active} is active again (was {previous})")
    if args.reload:
        _reload(args.reload, _server_config(settings).admin_key)
    else:
        say("servers switch on POST /admin/reload (or a restart)")
    return 0
