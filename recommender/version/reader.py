"""A published version folder, opened read-only into one ``Version``: its catalogue, every
model's precomputed lists and the request-time models, each loaded once.

A Version is immutable once opened; the server swaps whole versions, so one request (which
holds one) can never mix two.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import scipy.sparse as sp

from recommender.errors import Unavailable
from recommender.models import MODEL_NAMES
from recommender.names import RANKER
from recommender.sqlfiles import SqlLibrary
from recommender.version import registry
from recommender.version.format import LISTS_FILE, StaleVersion, model_file, require_current
from recommender.version.live import LiveModels
from recommender.version.precomputed import PrecomputedLists
from recommender.warehouse.feature_arrays import FeatureArrays


class _Cursors(threading.local):
    """One cursor of the version file per thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.__dict__.get("_cursor")
        if cur is None:
            cur = self._cursor = self.con.cursor()
        return cur


def _precomputed_lists(con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> dict[str, PrecomputedLists]:
    """Every model's lists, and the ranker's when the version holds them (a version with more
    users than ``ranker_precompute_users`` has none: its ranker is scored at request time)."""
    lists = {model: PrecomputedLists.load(con, sql, model) for model in MODEL_NAMES}
    ranker = PrecomputedLists.load(con, sql, RANKER)
    if len(ranker.users):
        lists[RANKER] = ranker
    return lists


class NotReady(Unavailable):
    """No published version can be opened (the reason says why)."""


@dataclass(frozen=True)
class Movie:
    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    popularity: int


@dataclass
class Version:
    """One published version: ``number``, its folder, catalogue, precomputed lists (``lists``)
    and request-time models (``live``)."""

    number: int
    path: Path
    con: duckdb.DuckDBPyConnection = field(repr=False)
    sql: SqlLibrary = field(repr=False)
    item_ids: np.ndarray = field(repr=False)  # the models' column -> movie id
    genres: np.ndarray = field(repr=False)  # (columns, genres) 0/1: each movie's genres
    info: dict[str, Any] = field(repr=False)
    catalog: dict[int, Movie] = field(repr=False)  # every movie of the version, in memory
    item_index: dict[int, int] = field(repr=False)  # movie id -> the models' column
    lists: dict[str, PrecomputedLists] = field(repr=False)  # model name -> every user's list
    live: LiveModels = field(repr=False)  # request-time lists
    #: The model a request that names none gets: the winner on val.
    default_model: str
    _local: _Cursors = field(repr=False)

    @staticmethod
    def active_version(serving_dir: Path) -> tuple[int, Path]:
        """(version, folder) that ACTIVE.json names."""
        try:
            pointer = registry.read_pointer(serving_dir)
        except registry.VersionError as exc:
            raise NotReady(str(exc)) from exc
        if pointer is None:
            raise NotReady(
                f"no published version ({Path(serving_dir) / registry.ACTIVE_FILE} is missing): run `recsys precompute`"
            )
        return pointer.version, pointer.folder

    @classmethod
    def open_active(cls, serving_dir: Path, sql: SqlLibrary) -> Version:
        return cls.open(cls.active_version(serving_dir)[1], sql)

    @classmethod
    def open(cls, folder: Path, sql: SqlLibrary) -> Version:
        """Open a version folder; any problem with it (missing file or table, bad artifact) is
        NotReady with the reason, and nothing stays open. A folder in another layout than
        this code's is refused in one line that says to republish."""
        try:
            require_current(folder)
        except StaleVersion as exc:
            raise NotReady(str(exc)) from exc
        try:
            # the version file is immutable and the only thing this connection may touch
            # one thread per query: lookups are tiny, concurrency comes from the requests
            con = duckdb.connect(
                str(folder / LISTS_FILE), read_only=True, config={"enable_external_access": False, "threads": 1}
            )
        except duckdb.Error as exc:
            raise NotReady(f"cannot open {folder / LISTS_FILE}: {exc}") from exc
        try:
            return cls._load(folder, con, sql)
        except Exception as exc:
            con.close()
            raise NotReady(f"version folder {folder} is unusable: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def _load(cls, folder: Path, con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> Version:
        try:
            con.execute("set lock_configuration = true")
        except duckdb.InvalidInputException:
            pass  # the same file is already open in this process (DuckDB shares the instance): locked
        described = sql.run(con, "version/version_info.sql")
        row = dict(zip([column[0] for column in described.description], described.fetchall()[0]))
        version, serve_n, runs, metrics = (row[name] for name in ("version", "serve_n", "runs", "metrics"))
        item_ids = con.sql(sql.text("version/model_items.sql")).fetchnumpy()["movie_id"]
        genre_rows = con.sql(sql.text("version/model_item_genres.sql")).fetchnumpy()
        names = sorted(set(genre_rows["genre"].tolist()))
        genres = sp.csr_matrix(
            (
                np.ones(len(genre_rows["item_idx"]), np.float32),
                (genre_rows["item_idx"], np.searchsorted(names, genre_rows["genre"])),
            ),
            shape=(len(item_ids), max(len(names), 1)),
        ).toarray()
        local = _Cursors(con)
        # the ranker's feature store, in memory: its lists run no query (a version without
        # the ranker holds no feature tables)
        features = FeatureArrays.load(con) if model_file(folder, RANKER).exists() else None
        catalog = {
            r[0]: Movie(r[0], r[1], r[2], tuple(r[3] or ()), int(r[4] or 0))
            for r in sql.run(con, "version/catalog_all.sql").fetchall()
        }
        return cls(
            number=version,
            path=folder,
            con=con,
            sql=sql,
            item_ids=item_ids,
            genres=np.minimum(genres, 1.0),
            info={"serve_n": serve_n, "runs": json.loads(runs), "metrics": json.loads(metrics)},
            default_model=row["default_model"],
            catalog=catalog,
            item_index={m: i for i, m in enumerate(item_ids.tolist())},
            lists=_precomputed_lists(con, sql),
            _local=local,
            live=LiveModels.load(
                folder,
                MODEL_NAMES,
                {m.movie_id: m.genres for m in catalog.values()},
                {m.movie_id: m.year for m in catalog.values()},
                pair_features=None if features is None else features.pairs,
                visitor_model=row["visitor_model"],
            ),
        )

    # -- connections ----------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        return self._local.cursor()

    def close(self) -> None:
        self.con.close()

    # -- lookups ----------------------------------------------------------------------
    def precomputed(self, model: str, user_id: int) -> list[tuple[int, float, int | None, str | None]]:
        """(movie_id, score, reason_movie_id, ranked_by) rows of the user's list, best first; []
        if unknown. In memory: safe and cheap to call on the event loop."""
        lists = self.lists.get(model)  # none for a ranker scored at request time (a large version)
        return lists.of_user(user_id) if lists is not None else []

    def personalised(self, model: str, user_id: int) -> bool:
        """Whether the user's precomputed list came from the model (not only the popular top-up)."""
        lists = self.lists.get(model)
        return lists is not None and lists.is_personalised(user_id)

    def movies(self, movie_ids) -> dict[int, Movie]:
        return {m: self.catalog[m] for m in movie_ids if m in self.catalog}

    def search(self, text: str, limit: int) -> list[Movie]:
        rows = self.sql.run(self.cursor(), "version/search_movies.sql", {"text": text, "limit": limit}).fetchall()
        return [Movie(r[0], r[1], r[2], tuple(r[3] or ()), int(r[4] or 0)) for r in rows]

    def similar(self, movie_id: int, k: int, offset: int = 0) -> list[tuple]:
        """(movie_id, title, year, genres, score) rows from the version's table (its first SIMILAR_N)."""
        params = {"movie_id": movie_id, "k": k, "offset": offset}
        return self.sql.run(self.cursor(), "version/similar.sql", params).fetchall()

    def table_counts(self) -> dict[str, int]:
        return dict(self.sql.run(self.cursor(), "version/table_counts.sql").fetchall())

    @property
    def n_users(self) -> int:
        """Users the version's models know (the denominator of a movie's share of users)."""
        return len(self.live.user_ids)

    def sample_users(self, n: int) -> tuple[list[int], int]:
        """(n known user ids, one id that no model knows)."""
        rows = self.sql.run(self.cursor(), "version/sample_users.sql", {"n": n}).fetchall()
        return [u for u, unknown in rows if not unknown], next(u for u, unknown in rows if unknown)
