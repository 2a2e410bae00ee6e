"""The serving versions' lifecycle: the one reader and writer of ``serving/ACTIVE.json`` and
of ``model_versions`` (the server reads the pointer through this module too).

The serving folder lies beside the warehouse, never inside it, so serving never locks the
warehouse; its layout is ``recommender.version.format``'s. A staging folder left behind by a
killed job is removed by the next one; ``ACTIVE.json`` is replaced atomically.

The pointer is the truth about what is active. Publishing records the version first (one
transaction) and then replaces the pointer, so a job killed in between leaves the old
pointer and a record that ``recover`` corrects on the next run; a folder renamed into place
but never recorded is an orphan that ``recover`` deletes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from recommender.config import Settings
from recommender.errors import RecsysError, quoted
from recommender.faults import failpoint
from recommender.sqlfiles import SqlLibrary
from recommender.version.format import (
    ACTIVE_FILE,
    LISTS_FILE,
    STAGING_PREFIX,
    StaleVersion,
    folder_name,
    require_current,
)
from recommender.warehouse.connection import transaction

#: Versions a rollback may return to: complete folders that passed every check.
ROLLBACK_STATUSES = ("superseded", "rolled_back")


class VersionError(RecsysError):
    """A version cannot be published, activated or read (the message says why)."""


@dataclass(frozen=True)
class Pointer:
    version: int
    folder: Path


#: What to do about a broken pointer.
REPAIR = "`recsys rollback --to N` points it at a published version again (`recsys versions` lists them)"


def read_pointer(serving_dir: Path) -> Pointer | None:
    """The active version, or None when nothing was ever published."""
    path = Path(serving_dir) / ACTIVE_FILE
    if not path.exists():
        return None
    try:
        active = json.loads(path.read_text())
        version, folder = active["version"], active["path"]
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a folder in its place, not JSON, ...
        raise VersionError(f"{path} is unreadable ({type(exc).__name__}: {exc}); {REPAIR}") from None
    if type(version) is not int or version < 1 or folder != folder_name(version):
        raise VersionError(f"{path} names no version folder ({quoted(active)}); {REPAIR}")
    return Pointer(version, Path(serving_dir) / folder)


def write_pointer(serving_dir: Path, version: int) -> None:
    """Point ACTIVE.json at a version folder: write a temporary file, flush it to disk, rename
    it over the old one, flush the folder (a crash leaves the old pointer or the new one)."""
    pointer = Path(serving_dir) / ACTIVE_FILE
    if pointer.is_dir():  # a broken pointer being repaired (only an empty folder: nothing is lost)
        pointer.rmdir()
    tmp = pointer.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        handle.write(json.dumps({"version": version, "path": folder_name(version), "published_at": time.time()}))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, pointer)
    _fsync_dir(Path(serving_dir))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def version_folders(serving_dir: Path) -> dict[int, Path]:
    return {int(p.name[1:]): p for p in Path(serving_dir).glob("v[0-9][0-9][0-9][0-9]") if p.is_dir()}


def staging_folder(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> tuple[int, Path]:
    """(the next version number, an empty staging folder for it). The number is past every
    recorded version and every folder on disk, so it never collides with a leftover."""
    serving = settings.serving_dir
    serving.mkdir(parents=True, exist_ok=True)
    recorded = sql.run(con, "warehouse/versions/next_version.sql").fetchall()[0][0]
    version = max([recorded, *(v + 1 for v in version_folders(serving))])
    staging = serving / f"{STAGING_PREFIX}{folder_name(version)}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return version, staging


def recover(
    con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings, say: Callable[[str], None] = lambda m: None
) -> None:
    """Bring the folders and ``model_versions`` back in line with the pointer after a job
    was killed: staging folders are deleted, unrecorded version folders (renamed into place
    by a job killed before it recorded them) are deleted, and the record's active version
    becomes the pointer's. Each correction is said in one line and logged as an event."""
    serving = settings.serving_dir
    for staging in serving.glob(f"{STAGING_PREFIX}v*"):
        shutil.rmtree(staging, ignore_errors=True)
        say(f"removed {staging.name}, left behind by an interrupted job")
    pointer = read_pointer(serving)
    active = pointer.version if pointer else None
    statuses = {v: status for v, status, _ in sql.run(con, "warehouse/versions/recorded.sql").fetchall()}
    for version, folder in sorted(version_folders(serving).items()):
        if version not in statuses and version != active:
            shutil.rmtree(folder, ignore_errors=True)
            _event(con, sql, "orphan_removed", version, None, "folder without a model_versions record")
            say(f"removed {folder.name}: published by an interrupted job but never recorded")
        elif statuses.get(version) in ("pruned", "rejected") and version != active:
            shutil.rmtree(folder, ignore_errors=True)  # a deletion an interrupted job did not finish
            say(f"removed {folder.name}: {statuses[version]}, its deletion had been interrupted")
    with transaction(con):
        for version, status in statuses.items():
            if status == "active" and version != active:
                sql.run(con, "warehouse/versions/set_status.sql", {"version": version, "status": "superseded"})
                _event(con, sql, "reconciled", version, None, f"recorded active, but {ACTIVE_FILE} names {active}")
                say(
                    f"version {version} was recorded active but never switched to; {ACTIVE_FILE} "
                    f"names {active}, which stays active"
                )
        if active is not None and active in statuses and statuses[active] != "active":
            sql.run(con, "warehouse/versions/set_status.sql", {"version": active, "status": "active"})
            _event(con, sql, "reconciled", active, None, f"{ACTIVE_FILE} names it")


def publish(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    version: int,
    staging: Path,
    record: dict[str, Any],
) -> Path:
    """Move a checked staging folder into place, record it as active, then switch the pointer."""
    final = settings.serving_dir / folder_name(version)
    os.replace(staging, final)  # the folder appears complete or not at all
    failpoint("publish:renamed")
    previous = read_pointer(settings.serving_dir)
    with transaction(con):
        sql.run(con, "warehouse/versions/supersede_active.sql", {"status": "superseded"})
        sql.run(
            con,
            "warehouse/versions/insert_version.sql",
            {**record, "version": version, "path": str(final), "status": "active", "failed_check": None},
        )
        _event(con, sql, "published", version, previous.version if previous else None, None)
    failpoint("publish:recorded")
    write_pointer(settings.serving_dir, version)
    return final


def reject(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    version: int,
    staging: Path,
    failed_check: str,
    record: dict[str, Any],
) -> None:
    """A version that failed a data check: its folder is deleted, its record says why."""
    shutil.rmtree(staging, ignore_errors=True)
    with transaction(con):
        sql.run(
            con,
            "warehouse/versions/insert_version.sql",
            {**record, "version": version, "path": None, "status": "rejected", "failed_check": failed_check},
        )
        _event(con, sql, "rejected", version, None, failed_check)


def prune(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> list[str]:
    """Delete version folders beyond the newest ``settings.serving_keep``, never the active
    one; their records become ``pruned``. A server still on a deleted version keeps
    answering (its lists are in memory, its open files stay readable on POSIX) until it
    reloads. Returns the deleted folder names."""
    pointer = read_pointer(settings.serving_dir)
    folders = sorted(version_folders(settings.serving_dir).items())
    doomed = [(v, p) for v, p in folders[: -settings.serving_keep] if pointer is None or v != pointer.version]
    for version, folder in doomed:
        with transaction(con):  # recorded first: an interrupted deletion is finished by recover()
            sql.run(con, "warehouse/versions/set_status.sql", {"version": version, "status": "pruned"})
            _event(con, sql, "pruned", version, None, f"keeping {settings.serving_keep}")
        shutil.rmtree(folder, ignore_errors=True)
    return [p.name for _, p in doomed]


def rollback(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    target: int | None = None,
    *,
    force: bool = False,
    say: Callable[[str], None] = lambda m: None,
) -> tuple[int, int]:
    """Make an earlier version active again (default: the newest one before the active one
    that is still on disk); the one it replaces becomes ``rolled_back``. Returns
    (previous, now active). Refuses pruned, rejected and missing versions, folders in another
    layout than this code reads (``format.require_current``), and (unless
    ``force``) a version whose lists hold movies rated in CSVs ingested since it was built.
    Movies rated through the API since then are only reported: the server that stored those
    ratings leaves them out of its answers."""
    broken = False
    try:
        recover(con, sql, settings)
        pointer = read_pointer(settings.serving_dir)
        current = None if pointer is None else pointer.version
    except VersionError:  # a broken ACTIVE.json: rolling back to a published version repairs it
        broken = True
        recorded = sql.run(con, "warehouse/versions/active.sql").fetchall()
        current = recorded[0][0] if recorded else None
    if current is None:
        raise VersionError("nothing is published yet: run `recsys precompute` first")
    rows = {v: (status, path) for v, status, path in sql.run(con, "warehouse/versions/recorded.sql").fetchall()}
    folders = version_folders(settings.serving_dir)
    if target is None:
        earlier = [v for v, (status, _) in rows.items() if v < current and status in ROLLBACK_STATUSES and v in folders]
        if not earlier:
            raise VersionError(f"no earlier version to roll back to from {current} (`recsys versions` lists them)")
        target = max(earlier)
    if target == current and not broken:
        raise VersionError(f"version {target} is already active")
    if target not in rows:
        raise VersionError(f"version {target} does not exist (`recsys versions` lists them)")
    status = rows[target][0]
    if status == "rejected":
        raise VersionError(f"version {target} was rejected by a data check and was never served")
    if status == "pruned" or target not in folders:
        raise VersionError(f"version {target} was pruned: its folder is gone (keep more with --keep)")
    try:
        require_current(folders[target])
    except StaleVersion as exc:
        raise VersionError(f"cannot roll back to version {target}: {exc}") from exc
    csv = _rated_movies_served(con, sql, folders[target], "csv")
    if csv and not force:
        raise VersionError(
            f"version {target} would serve movies their users rated in data ingested since it was "
            f"built (e.g. user {csv[0]}, movie {csv[1]}); publish a new version, or --force"
        )
    api = _rated_movies_served(con, sql, folders[target], "api")
    if api:
        say(
            f"note: version {target} lists movies rated through the API since it was built (e.g. user {api[0]}, "
            f"movie {api[1]}); the server that stored those ratings leaves them out of its answers"
        )
    with transaction(con):
        sql.run(con, "warehouse/versions/supersede_active.sql", {"status": "rolled_back"})
        sql.run(con, "warehouse/versions/set_status.sql", {"version": target, "status": "active"})
        _event(con, sql, "rollback", target, current, None)
    write_pointer(settings.serving_dir, target)
    return current, target


def _rated_movies_served(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, folder: Path, source: str) -> tuple | None:
    """A (user, movie) of the version's lists rated in the warehouse now (from ``source``), or None."""
    recs = duckdb.connect(str(folder / LISTS_FILE), read_only=True)
    try:
        recs.register("all_ratings", sql.arrow(con, "warehouse/versions/rated_pairs_by_source.sql", {"source": source}))
        rows = sql.run(recs, "version/checks/no_rated_movie.sql").fetchall()
    except duckdb.Error as exc:
        raise VersionError(f"{folder} cannot be read: {str(exc).splitlines()[0]}") from exc
    finally:
        recs.close()
    return (rows[0][1], rows[0][2]) if rows else None


def _event(con, sql: SqlLibrary, event: str, version: int, previous: int | None, detail: str | None) -> None:
    sql.run(
        con,
        "warehouse/versions/add_event.sql",
        {"event": event, "version": version, "previous_version": previous, "detail": detail},
    )
