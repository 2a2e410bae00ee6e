"""Loading the MovieLens CSVs (ml-25m / ml-latest-small layout) into the raw tables.

One ingest is one transaction: any bad file leaves the previous contents untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from recommender.errors import RecsysError
from recommender.faults import failpoint
from recommender.warehouse.connection import SqlLibrary, transaction


@dataclass(frozen=True)
class Source:
    name: str
    file: str
    table: str
    header: tuple[str, ...]
    required: bool


SOURCES = (
    Source("ratings", "ratings.csv", "raw_ratings", ("userId", "movieId", "rating", "timestamp"), True),
    Source("movies", "movies.csv", "raw_movies", ("movieId", "title", "genres"), True),
    Source("tags", "tags.csv", "raw_tags", ("userId", "movieId", "tag", "timestamp"), False),
    Source("links", "links.csv", "raw_links", ("movieId", "imdbId", "tmdbId"), False),
)

#: Files above this size get DuckDB's progress bar.
LARGE_FILE_BYTES = 64 * 1024 * 1024


class IngestError(RecsysError):
    """A data file is missing or malformed; ``file`` and ``line`` say where. The ingest is one
    transaction, so nothing was changed."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file, self.line, self.message = file, line, message
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {message} (nothing was changed)")


@dataclass(frozen=True)
class LoadedFile:
    source: Source
    path: Path
    rows: int
    bytes: int
    content_hash: str
    duration_s: float
    #: What was reported but not refused (e.g. {"no_final_newline": 1}).
    warnings: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    ingest_id: str
    files: tuple[LoadedFile, ...]
    unchanged: bool


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def ingest(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    data_dir: Path,
    *,
    force: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> IngestResult:
    """Replace the raw tables with the CSVs in ``data_dir``; refuses bad input with IngestError.

    Re-ingesting files whose content hashes match the last ingest is a no-op unless ``force``.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise IngestError(str(data_dir), "is not a folder (expected ratings.csv, movies.csv, ...)")
    present = []
    for source in SOURCES:
        path = data_dir / source.file
        if path.exists():
            _check_header(path, source)
            present.append((source, path))
        elif source.required:
            raise IngestError(source.file, f"is missing from {data_dir}")

    # Hash in background threads (hashlib releases the GIL) while DuckDB loads.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes: dict[str, Future[str]] = {s.file: pool.submit(file_sha256, p) for s, p in present}
        if not force and _same_as_last(con, sql, present, hashes):
            say(f"{data_dir}: same files as the last ingest, nothing to do (use --force to reload)")
            return IngestResult("", (), True)
        loaded = _load_all(con, sql, present, hashes, data_dir, say)
    return loaded


def _load_all(con, sql, present, hashes, data_dir, say) -> IngestResult:
    ingest_id = uuid.uuid4().hex[:12]
    files = []
    large_files = any(p.stat().st_size >= LARGE_FILE_BYTES for _, p in present)
    con.execute(f"set enable_progress_bar = {str(large_files).lower()}")
    with transaction(con):
        for source in SOURCES:
            path = next((p for s, p in present if s is source), None)
            if path is None:
                sql.run(con, f"warehouse/ingest/clear_{source.name}.sql")
                continue
            size = path.stat().st_size
            large = size >= LARGE_FILE_BYTES
            say(f"loading {source.file} ({size / 1e6:,.1f} MB)" + (" ..." if large else ""))
            started = time.perf_counter()
            try:
                # the file's last statement is the insert: its result is the number of rows
                rows = sql.run(con, f"warehouse/ingest/load_{source.name}.sql", {"path": str(path)}).fetchall()[0][0]
            except duckdb.Error as exc:
                raise _csv_error(source.file, exc) from None
            (bad,) = sql.run(con, f"warehouse/ingest/check_{source.name}.sql").fetchall()[0]
            if bad:
                line, problem = sql.run(con, f"warehouse/ingest/locate_{source.name}.sql", {"path": str(path)}).fetchall()[0]
                raise IngestError(source.file, f"{problem} ({bad} bad row(s) in the file)", line)
            if rows == 0:
                raise IngestError(source.file, "has a header but no rows")
            duration = time.perf_counter() - started
            warnings = {}
            if not _ends_with_newline(path):
                warnings["no_final_newline"] = 1
                say(f"  warning: {source.file} does not end with a line break: its last line (line {rows + 1}) "
                    "may have been cut off; it was loaded as it reads")
            files.append(LoadedFile(source, path, rows, size, hashes[source.file].result(), duration, warnings))
            say(f"  {source.file}: {rows:,} rows in {duration:.1f} s")
            failpoint(f"ingest:loaded-{source.name}")  # inside the transaction: nothing is committed yet
        # across files: every rated movie is listed (else it could be recommended, never shown)
        (bad,) = sql.run(con, "warehouse/ingest/check_rated_movies.sql").fetchall()[0]
        if bad:
            ratings = next(p for s, p in present if s.name == "ratings")
            line, problem = sql.run(con, "warehouse/ingest/locate_rated_movies.sql", {"path": str(ratings)}).fetchall()[0]
            raise IngestError("ratings.csv", f"{problem} ({bad} rating(s) of unlisted movies)", line)
        for f in files:
            sql.run(con, "warehouse/ingest/log.sql", {
                "ingest_id": ingest_id, "source_dir": str(data_dir), "file": f.source.file,
                "table_name": f.source.table, "rows": f.rows, "bytes": f.bytes, "content_hash": f.content_hash,
                "duration_s": f.duration_s, "warnings": json.dumps(f.warnings)})
    return IngestResult(ingest_id, tuple(files), False)


def _ends_with_newline(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _check_header(path: Path, source: Source) -> None:
    with open(path, "rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace")
    header = tuple(c.strip().strip('"') for c in first.lstrip("\ufeff").rstrip("\r\n").split(","))
    if header != source.header:
        raise IngestError(
            source.file, f"wrong header {','.join(header)!r}, expected {','.join(source.header)!r}", 1
        )


def _same_as_last(con, sql, present, hashes) -> bool:
    rows = sql.run(con, "warehouse/ingest/last_files.sql").fetchall()
    last = {file: (h, size) for file, h, size in rows}
    if set(last) != {s.file for s, _ in present}:
        return False
    if any(last[s.file][1] != p.stat().st_size for s, p in present):
        return False  # cheap check first: no need to wait for the hashes
    return all(last[s.file][0] == hashes[s.file].result() for s, _ in present)


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line:\s*\n?(.*)")


def _csv_error(file: str, exc: duckdb.Error) -> IngestError:
    """Turn DuckDB's CSV reader error into 'file line N: what is wrong: the line'."""
    text = str(exc)
    line_match = _LINE.search(text)
    original = _ORIGINAL.search(text)
    reason = next(
        (
            ln.strip()
            for ln in text.splitlines()
            if ln.startswith(("Expected Number of Columns", "Error when converting", "Value with unterminated quote", "Invalid unicode"))
        ),
        text.splitlines()[0] if text else "unreadable",
    )
    message = reason + (f": {original.group(1).strip()!r}" if original and original.group(1).strip() else "")
    return IngestError(file, message, int(line_match.group(1)) if line_match else None)
