"""Loading a MovieLens folder into the raw tables.

Three layouts: the CSV editions (ml-20m, ml-25m, ml-32m, ml-latest(-small): ``ratings.csv``,
``movies.csv`` [``tags.csv``, ``links.csv``], each possibly gzip-compressed as ``*.csv.gz``),
MovieLens 1M and 10M (``ratings.dat``, ``movies.dat`` [``tags.dat``]: '::'-separated) and
MovieLens 100K (``u.data``, ``u.item``). All land in the same raw tables. One ingest is one
transaction: any bad file leaves the previous contents untouched.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from recommender.words import plural
from recommender.errors import RecsysError
from recommender.faults import failpoint
from recommender.warehouse.connection import transaction
from recommender.sqlfiles import SqlLibrary


@dataclass(frozen=True)
class Source:
    #: ratings / movies / tags / links: names the raw table and the SQL files.
    name: str
    file: str
    table: str
    #: The header line's columns; None for a headerless file.
    header: tuple[str, ...] | None
    required: bool
    #: Free text of an edition-dependent encoding (ML-1M: Latin-1, ML-10M: UTF-8): detected,
    #: and given to its SQL as ``$encoding``.
    text: bool = False


@dataclass(frozen=True)
class Layout:
    name: str
    #: Load and locate queries live in sql/warehouse/ingest/<sql_folder>.
    sql_folder: str
    sources: tuple[Source, ...]

    @property
    def required_files(self) -> tuple[str, ...]:
        return tuple(s.file for s in self.sources if s.required)


MOVIELENS_CSV = Layout(
    "MovieLens CSV (ml-25m, ml-latest, ml-latest-small: ratings.csv, movies.csv [tags.csv, links.csv], "
    "as .csv or .csv.gz)",
    "",
    (
        Source("ratings", "ratings.csv", "raw_ratings", ("userId", "movieId", "rating", "timestamp"), True),
        Source("movies", "movies.csv", "raw_movies", ("movieId", "title", "genres"), True),
        Source("tags", "tags.csv", "raw_tags", ("userId", "movieId", "tag", "timestamp"), False),
        Source("links", "links.csv", "raw_links", ("movieId", "imdbId", "tmdbId"), False),
    ),
)
MOVIELENS_100K = Layout(
    "MovieLens 100K (u.data, u.item)",
    "ml100k/",
    (
        Source("ratings", "u.data", "raw_ratings", None, True),
        Source("movies", "u.item", "raw_movies", None, True),
    ),
)
MOVIELENS_DAT = Layout(
    "MovieLens 1M / 10M (ratings.dat, movies.dat [tags.dat]: '::'-separated)",
    "dat/",
    (
        Source("ratings", "ratings.dat", "raw_ratings", None, True),
        Source("movies", "movies.dat", "raw_movies", None, True, text=True),
        Source("tags", "tags.dat", "raw_tags", None, False, text=True),
    ),
)
LAYOUTS = (MOVIELENS_CSV, MOVIELENS_DAT, MOVIELENS_100K)
#: Every raw table an ingest replaces (a layout without tags clears them).
SOURCES = MOVIELENS_CSV.sources

#: Files above this size get a "loading ..." line before their load (it takes a while).
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
    layout = detect_layout(data_dir)
    present = []
    for source in layout.sources:
        path = _find(data_dir, source.file)
        if path is not None:
            _check_header(path, source)
            present.append((source, path))
        elif source.required:
            raise IngestError(source.file, f"is missing from {data_dir} ({layout.name})")

    # Hash in background threads (hashlib releases the GIL) while DuckDB loads.
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes: dict[str, Future[str]] = {p.name: pool.submit(file_sha256, p) for _, p in present}
        if not force and _same_as_last(con, sql, present, hashes):
            say(f"{data_dir}: same files as the last ingest, nothing to do (use --force to reload)")
            return IngestResult("", (), True)
        loaded = _load_all(con, sql, layout, present, hashes, data_dir, say)
    return loaded


def detect_layout(data_dir: Path) -> Layout:
    """The layout of a MovieLens folder, or one IngestError naming what is there and what is supported."""
    if not data_dir.is_dir():
        raise IngestError(str(data_dir), "is not a folder (expected ratings.csv, movies.csv, ...)")
    for layout in LAYOUTS:
        if _find(data_dir, layout.required_files[0]) is not None:  # the ratings file names the layout
            return layout
    supported = "; ".join(layout.name for layout in LAYOUTS)
    raise IngestError(str(data_dir), f"holds no MovieLens data set that this version reads; supported: {supported}")


def _find(data_dir: Path, file: str) -> Path | None:
    """``file`` in ``data_dir``, or its gzip-compressed ``file.gz``."""
    for candidate in (data_dir / file, data_dir / f"{file}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_all(con, sql, layout, present, hashes, data_dir, say) -> IngestResult:
    ingest_id = uuid.uuid4().hex[:12]
    folder = f"warehouse/ingest/{layout.sql_folder}"
    files = []
    with transaction(con):
        for source in SOURCES:
            if source.name not in {s.name for s in layout.sources}:
                sql.run(con, f"warehouse/ingest/clear_{source.name}.sql")  # e.g. no tags in MovieLens 100K
        for source in layout.sources:
            path = next((p for s, p in present if s is source), None)
            if path is None:
                sql.run(con, f"warehouse/ingest/clear_{source.name}.sql")
                continue
            size = path.stat().st_size
            large = size >= LARGE_FILE_BYTES
            say(f"loading {path.name} ({size / 1e6:,.1f} MB)" + (" ..." if large else ""))
            started = time.perf_counter()
            params = {"path": str(path)} | ({"encoding": text_encoding(path)} if source.text else {})
            try:
                # the file's last statement is the insert: its result is the number of rows
                rows = sql.run(con, f"{folder}load_{source.name}.sql", params).fetchall()[0][0]
            except duckdb.Error as exc:
                raise _csv_error(path.name, exc) from None
            (bad,) = sql.run(con, f"warehouse/ingest/check_{source.name}.sql").fetchall()[0]
            if bad:
                line, problem = sql.run(con, f"{folder}locate_{source.name}.sql", params).fetchall()[0]
                raise IngestError(path.name, f"{problem} ({plural(bad, 'bad row')} in the file)", line)
            if rows == 0:
                raise IngestError(path.name, "has a header but no rows" if source.header else "is empty")
            duration = time.perf_counter() - started
            warnings = {}
            if not _ends_with_newline(path):
                warnings["no_final_newline"] = 1
                say(
                    f"  warning: {path.name} does not end with a line break: its last line (line {rows + 1}) "
                    "may have been cut off; it was loaded as it reads"
                )
            files.append(LoadedFile(source, path, rows, size, hashes[path.name].result(), duration, warnings))
            say(f"  {path.name}: {rows:,} rows in {duration:.1f} s")
            failpoint(f"ingest:loaded-{source.name}")  # inside the transaction: nothing is committed yet
        # across files: every rated movie is listed (else it could be recommended, never shown)
        (bad,) = sql.run(con, "warehouse/ingest/check_rated_movies.sql").fetchall()[0]
        if bad:
            ratings = next(p for s, p in present if s.name == "ratings")
            line, problem = sql.run(con, f"{folder}locate_rated_movies.sql", {"path": str(ratings)}).fetchall()[0]
            raise IngestError(ratings.name, f"{problem} ({plural(bad, 'rating')} of unlisted movies)", line)
        for f in files:
            sql.run(
                con,
                "warehouse/ingest/log.sql",
                {
                    "ingest_id": ingest_id,
                    "source_dir": str(data_dir),
                    "file": f.path.name,
                    "table_name": f.source.table,
                    "rows": f.rows,
                    "bytes": f.bytes,
                    "content_hash": f.content_hash,
                    "duration_s": f.duration_s,
                    "warnings": json.dumps(f.warnings),
                },
            )
    return IngestResult(ingest_id, tuple(files), False)


def text_encoding(path: Path) -> str:
    """'utf-8' when the file decodes as UTF-8, else 'latin-1' (ML-1M's; every byte is valid)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            handle.read().decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    except (OSError, EOFError) as exc:
        raise IngestError(path.name, f"cannot be read ({exc})") from None
    return "utf-8"


def _ends_with_newline(path: Path) -> bool:
    if path.suffix == ".gz":
        return True  # a gzip stream carries its length and CRC: a cut-off file fails to decompress
    if path.stat().st_size == 0:
        return True
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _check_header(path: Path, source: Source) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            first = handle.readline().decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise IngestError(path.name, f"cannot be read ({exc})") from None
    if not first.strip():
        expected = f" (expected the header line {','.join(source.header)!r})" if source.header else ""
        raise IngestError(path.name, f"is empty{expected}", 1 if first else None)
    if source.header is None:
        return
    header = tuple(c.strip().strip('"') for c in first.lstrip("\ufeff").rstrip("\r\n").split(","))
    if header != source.header:
        raise IngestError(path.name, f"wrong header {','.join(header)!r}, expected {','.join(source.header)!r}", 1)


def _same_as_last(con, sql, present, hashes) -> bool:
    rows = sql.run(con, "warehouse/ingest/last_files.sql").fetchall()
    last = {file: (h, size) for file, h, size in rows}
    if set(last) != {p.name for _, p in present}:
        return False
    if any(last[p.name][1] != p.stat().st_size for _, p in present):
        return False  # cheap check first: no need to wait for the hashes
    return all(last[p.name][0] == hashes[p.name].result() for _, p in present)


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_ORIGINAL = re.compile(r"Original Line:\s*\n?(.*)")


_REASONS = ("Expected Number of Columns", "Error when converting", "Value with unterminated quote", "Invalid unicode")


def _csv_error(file: str, exc: duckdb.Error) -> IngestError:
    """Turn DuckDB's CSV reader error into 'file line N: what is wrong: the line'."""
    text = str(exc)
    line_match = _LINE.search(text)
    original = _ORIGINAL.search(text)
    reason = next(
        (ln.strip() for ln in text.splitlines() if ln.startswith(_REASONS)),
        text.splitlines()[0] if text else "unreadable",
    )
    message = reason + (f": {original.group(1).strip()!r}" if original and original.group(1).strip() else "")
    return IngestError(file, message, int(line_match.group(1)) if line_match else None)
