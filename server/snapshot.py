"""One published version, opened read-only: the lists, the catalog and the fold-in model.

A Snapshot is immutable once built; the server swaps whole snapshots, so one request
(which holds one snapshot) can never mix versions.
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
from recommender.evaluation import metrics as M
from recommender.evaluation.default_model import FALLBACK as DEFAULT_MODEL
from recommender.models import ALS, MODEL_NAMES, mmr_rerank
from recommender.models import load as load_model
from recommender.serving import versions
from recommender.serving.live import LiveModels
from recommender.serving.ranked import RANKER
from recommender.warehouse.connection import SqlLibrary
from recommender.warehouse.features import pair_features
from server.precomputed import PrecomputedLists


class _Cursors(threading.local):
    """One cursor of the version file per thread, and the feature store read through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> None:
        self.con, self.sql = con, sql

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.__dict__.get("_cursor")
        if cur is None:
            cur = self._cursor = self.con.cursor()
        return cur

    def pair_features(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """The ranker's feature-store features of (user, movie) pairs, from the version's tables."""
        return pair_features(self.cursor(), self.sql, "", "", user_ids, movie_ids, materialized=True)


def _precomputed_lists(con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> dict[str, PrecomputedLists]:
    """Every model's lists, and the ranker's when the version holds them (a version with more
    users than ``ranker_precompute_users``, or published before the column ``ranked_by``
    existed, has none: its ranker, if any, is scored at request time)."""
    lists = {model: PrecomputedLists.load(con, sql, model) for model in MODEL_NAMES}
    if "ranked_by" in con.table("recommendations").columns:
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
class Snapshot:
    version: int
    path: Path
    con: duckdb.DuckDBPyConnection = field(repr=False)
    sql: SqlLibrary = field(repr=False)
    als: ALS = field(repr=False)
    item_ids: np.ndarray = field(repr=False)  # ALS column -> movie id
    genre_vectors: np.ndarray = field(repr=False)  # ALS column -> normalised genre vector
    popular: np.ndarray = field(repr=False)  # movie ids, most popular first
    popular_scores: np.ndarray = field(repr=False)
    diverse_params: dict[str, Any] = field(repr=False)
    info: dict[str, Any] = field(repr=False)
    catalog: dict[int, Movie] = field(repr=False)  # every movie of the version, in memory
    item_index: dict[int, int] = field(repr=False)  # movie id -> ALS column
    unit_factors: np.ndarray = field(repr=False)  # ALS item factors, L2-normalised
    lists: dict[str, PrecomputedLists] = field(repr=False)  # model name -> every user's list
    live: LiveModels | None = field(repr=False)  # request-time lists; None for older versions
    #: The model a request that names none gets: the winner on val (older versions: ALS).
    default_model: str
    _local: _Cursors = field(repr=False)

    @staticmethod
    def active_version(serving_dir: Path) -> tuple[int, Path]:
        """(version, folder) that ACTIVE.json names."""
        try:
            pointer = versions.read_pointer(serving_dir)
        except versions.VersionError as exc:
            raise NotReady(str(exc)) from exc
        if pointer is None:
            raise NotReady(
                f"no published version ({Path(serving_dir) / versions.ACTIVE_FILE} is missing): run `recsys precompute`"
            )
        return pointer.version, pointer.folder

    @classmethod
    def open_active(cls, serving_dir: Path, sql: SqlLibrary) -> Snapshot:
        return cls.open(cls.active_version(serving_dir)[1], sql)

    @classmethod
    def open(cls, folder: Path, sql: SqlLibrary) -> Snapshot:
        """Open a version folder; any problem with it (missing file or table, bad artifact) is
        NotReady with the reason, and nothing stays open."""
        try:
            # the version file is immutable and the only thing this connection may touch
            # one thread per query: lookups are tiny, concurrency comes from the requests
            con = duckdb.connect(
                str(folder / "recs.duckdb"), read_only=True, config={"enable_external_access": False, "threads": 1}
            )
        except duckdb.Error as exc:
            raise NotReady(f"cannot open {folder / 'recs.duckdb'}: {exc}") from exc
        try:
            return cls._load(folder, con, sql)
        except Exception as exc:
            con.close()
            raise NotReady(f"version folder {folder} is unusable: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def _load(cls, folder: Path, con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> Snapshot:
        try:
            con.execute("set lock_configuration = true")
        except duckdb.InvalidInputException:
            pass  # the same file is already open in this process (DuckDB shares the instance): locked
        described = sql.run(con, "version/version_info.sql")
        row = dict(zip([column[0] for column in described.description], described.fetchall()[0]))
        version, serve_n, runs, metrics, diverse = (
            row[name] for name in ("version", "serve_n", "runs", "metrics", "diverse_params")
        )
        als = load_model(folder / "als.npz")
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
        popular = con.sql(sql.text("version/popular.sql")).fetchnumpy()
        local = _Cursors(con, sql)
        catalog = {
            r[0]: Movie(r[0], r[1], r[2], tuple(r[3] or ()), int(r[4] or 0))
            for r in sql.run(con, "version/catalog_all.sql").fetchall()
        }
        return cls(
            version=version,
            path=folder,
            con=con,
            sql=sql,
            als=als,
            item_ids=item_ids,
            genre_vectors=M.normalise_rows(np.minimum(genres, 1.0)),
            popular=popular["movie_id"],
            popular_scores=popular["score"],
            diverse_params=json.loads(diverse),
            info={"serve_n": serve_n, "runs": json.loads(runs), "metrics": json.loads(metrics)},
            default_model=row.get("default_model") or DEFAULT_MODEL,
            catalog=catalog,
            item_index={m: i for i, m in enumerate(item_ids.tolist())},
            unit_factors=M.normalise_rows(als.item_factors),
            lists=_precomputed_lists(con, sql),
            _local=local,
            live=LiveModels.load(
                folder,
                MODEL_NAMES,
                {m.movie_id: m.genres for m in catalog.values()},
                {m.movie_id: m.year for m in catalog.values()},
                pair_features=local.pair_features,
                visitor_model=row.get("visitor_model") or "ranker",
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

    def sample_users(self, n: int) -> tuple[list[int], int]:
        """(n known user ids, one id that no model knows)."""
        rows = self.sql.run(self.cursor(), "version/sample_users.sql", {"n": n}).fetchall()
        return [u for u, unknown in rows if not unknown], next(u for u, unknown in rows if unknown)

    def genre_diversity(self, movie_ids: list[int]) -> float | None:
        """Intra-list diversity over genre vectors: the evaluation's own metric function."""
        idx = [self.item_index[m] for m in movie_ids if m in self.item_index]
        value = (
            M.intra_list_diversity(np.array([idx], dtype=np.int64), self.genre_vectors, len(idx))[0] if idx else np.nan
        )
        return None if np.isnan(value) else round(float(value), 4)

    # -- computed tiers -------------------------------------------------------------------
    def popular_excluding(self, rated: set[int], k: int) -> list[tuple[int, float]]:
        out = []
        for movie_id, score in zip(self.popular.tolist(), self.popular_scores.tolist()):
            if movie_id not in rated:
                out.append((movie_id, score))
                if len(out) == k:
                    break
        return out

    def fold_in(self, positives: list[int], rated: set[int], model: str, k: int) -> list[tuple[int, float, int | None]]:
        """ALS fold-in (implicit's recalculate_user) from a new user's positive feedback;
        re-ranked by MMR for ``diverse``. Returns (movie_id, score, reason_movie_id)."""
        cols = sorted({self.item_index[m] for m in positives if m in self.item_index})
        if not cols:
            return []
        history = sp.csr_matrix(
            (np.ones(len(cols), np.float32), (np.zeros(len(cols), int), cols)), shape=(1, len(self.item_ids))
        )
        n = min(len(self.item_ids), max(k, int(self.diverse_params.get("candidates", 100))) + len(rated))
        ids, scores = self.als.fold_in(history, n)
        keep = [
            (i, s)
            for i, s in zip(ids.tolist(), scores.tolist())
            if i >= 0 and np.isfinite(s) and s > -1e30 and self.item_ids[i] not in rated and i not in cols
        ]
        if model == "diverse" and keep:
            vectors = self.genre_vectors if self.diverse_params.get("similarity") == "genres" else self.unit_factors
            cand = np.array([[i for i, _ in keep]])
            rel = np.array([[s for _, s in keep]], dtype=np.float32)
            picked, picked_scores = mmr_rerank(cand, rel, vectors, float(self.diverse_params.get("lam", 0.0)), k)
            keep = [(i, s) for i, s in zip(picked[0].tolist(), picked_scores[0].tolist()) if i >= 0]
        keep = keep[:k]
        out = []
        for i, s in keep:
            reason = cols[int(np.argmax(self.unit_factors[cols] @ self.unit_factors[i]))]
            out.append((int(self.item_ids[i]), float(s), int(self.item_ids[reason])))
        return out
