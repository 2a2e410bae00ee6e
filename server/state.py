"""Process-wide serving state, created in the app's lifespan (never at import):
the active version, the TTL cache and the feedback store."""

from __future__ import annotations

import collections
import dataclasses
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from cachetools import TTLCache

from recommender.feedback import DuckDBFeedbackStore, FeedbackStore
from recommender.sqlfiles import SqlLibrary
from recommender.threads import pin_blas_for_process
from recommender.version.format import missing_files
from recommender.version.reader import NotReady, Version
from server.config import ServerConfig
from server.requestlog import RequestLog

log = logging.getLogger("recsys.server")


def approximate_bytes(value: Any) -> int:
    """About how many bytes ``value`` holds in memory, nested containers included: what an
    entry of the cache costs, key and value (an object may say itself: ``approximate_bytes``)."""
    if isinstance(value, bytes | str):
        return 49 + len(value)
    if isinstance(value, np.ndarray):
        return 112 + value.nbytes
    if value is None or isinstance(value, int | float):
        return 32
    if isinstance(value, tuple | list | set | frozenset):
        return 56 + 8 * len(value) + sum(approximate_bytes(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(approximate_bytes(k) + approximate_bytes(v) + 16 for k, v in value.items())
    if hasattr(value, "approximate_bytes"):
        return int(value.approximate_bytes())
    if dataclasses.is_dataclass(value):
        return 56 + sum(approximate_bytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


class RecCache:
    """TTLCache behind a lock (the event loop and worker threads share it; cachetools is not
    thread-safe), bounded by entries and by bytes: each entry (key and value) is weighed by
    ``approximate_bytes`` when it is stored, and the least recently used go first once either
    bound is reached (a flood of distinct, large requests must not grow the process). Values
    are never None.

    Keys carry the version number and the user's feedback generation, so a new version
    or new feedback makes old entries unreachable at once (they then expire by TTL).
    """

    def __init__(
        self, size: int, ttl_s: float, max_bytes: int = 2**40, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = size > 0 and max_bytes > 0
        self.max_entries = max(size, 1)
        # an entry is (value, its bytes): cachetools weighs what it stores, and the key counts too
        self._cache: TTLCache = TTLCache(maxsize=max(max_bytes, 1), ttl=ttl_s, timer=timer, getsizeof=lambda e: e[1])
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> tuple[Any, bool]:
        if not self.enabled:
            return compute(), False
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self.hits += 1
                return entry[0], True
            self.misses += 1
        value = compute()  # outside the lock: a slow lookup must not serialise the others
        size = approximate_bytes(key) + approximate_bytes(value)
        if size > self._cache.maxsize:
            return value, False  # larger than the whole budget: answered, not kept
        with self._lock:
            self._cache[key] = (value, size)
            while len(self._cache) > self.max_entries:
                self._cache.popitem()
        return value, False

    @property
    def bytes(self) -> int:
        """The estimated bytes of the entries held now."""
        with self._lock:  # currsize expires entries first: it changes the cache
            return int(self._cache.currsize)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            total = self.hits + self.misses
            return {
                "enabled": self.enabled,
                "size": len(self._cache),
                "max_size": self.max_entries,
                "bytes": int(self._cache.currsize),
                "max_bytes": int(self._cache.maxsize),
                "ttl_s": self._cache.ttl,
                "hits": self.hits,
                "misses": self.misses,
                "hit_rate": round(self.hits / total, 4) if total else None,
            }


class ServedFeedback:
    """The server's feedback store (DuckDB file or PostgreSQL) plus each user's generation: it
    moves with every rating this process stores and, on a shared store, with every rating
    another process stores (the store's ``watch``); cache keys carry it. Generations start
    from the stored counts, so ratings posted before a restart are used (they are read when
    the generation is > 0)."""

    def __init__(self, store: FeedbackStore, timed: Callable[[str, float], None] | None = None) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._timed = timed  # told (operation, seconds) of every write, for /metrics
        self._counts: dict[int, int] = {}
        self.generations: dict[int, int] = collections.defaultdict(int)
        self.resync()
        store.watch(self.changed, self.resync)

    @classmethod
    def open(cls, config: ServerConfig, sql: SqlLibrary, timed: Callable[[str, float], None] | None = None):
        """The store the config names: PostgreSQL when ``feedback_url`` is set, else the file."""
        if config.feedback_url:
            from recommender.feedback.postgres import PostgresFeedbackStore

            return cls(PostgresFeedbackStore(config.feedback_url, sql), timed)
        return cls(DuckDBFeedbackStore(config.feedback_path, sql), timed)

    @property
    def store_id(self) -> str:
        return self.store.store_id

    def add(self, user_id: int, movie_id: int, rating: float) -> int:
        started = time.perf_counter()
        seq = self.store.add(user_id, movie_id, rating)
        if self._timed is not None:
            self._timed("add", time.perf_counter() - started)
        self.changed(user_id)
        return seq

    def changed(self, user_id: int) -> None:
        """A rating of ``user_id`` was stored (here, or by another process sharing the store)."""
        with self._lock:
            self.generations[user_id] += 1

    def resync(self) -> None:
        """Move the generation of every user whose stored count changed since the last resync
        (news a shared store's listener may have missed while it was away). Counts from the
        store alone are compared, so what this process learnt in between cannot cancel a change."""
        counts = self.store.counts()
        with self._lock:
            for user_id in set(counts) | set(self._counts):
                # by the difference: at start, each user's generation starts at the user's count
                self.generations[user_id] += abs(counts.get(user_id, 0) - self._counts.get(user_id, 0))
            self._counts = dict(counts)

    def generation(self, user_id: int) -> int:
        return self.generations.get(user_id, 0)

    def of_user(self, user_id: int) -> list[tuple[int, float]]:
        return self.store.of_user(user_id)

    def since(self, after: int, limit: int):
        return self.store.since(after, limit)

    def close(self) -> None:
        self.store.close()


class ServingState:
    """The active version, the cache and the feedback store of one server process.

    Every object alive once a version is open (its catalog, id maps, model) is frozen out
    of the cyclic GC's sight (``gc.freeze``): those objects live as long as the version,
    and a full collection walking them paused every in-flight request (docs/performance.md, serving). A
    version holds no reference cycles, so an old version is still freed by reference
    counting (tests/server/test_state.py checks this).
    """

    def __init__(
        self, config: ServerConfig, requests: RequestLog, store_timer: Callable[[str, float], None] | None = None
    ) -> None:
        self.config = config
        self.requests = requests  # counts requests and answering tiers (for /stats)
        pin_blas_for_process()  # request-time scoring: small products, many threads
        self.sql = SqlLibrary(config.settings.sql_dir)
        # the budget, half each: answers, and whole request-time lists (every page of one is a
        # slice of it), apart from the answers so that /stats counts answers only
        half = int(config.cache_max_mb * 2**20 / 2)
        self.cache = RecCache(config.cache_size, config.cache_ttl_s, half)
        self.deep_lists = RecCache(config.cache_size, config.cache_ttl_s, half)
        self.feedback = ServedFeedback.open(config, self.sql, store_timer)
        self._swap_lock = threading.Lock()
        self.active: Version | None = None
        self.not_ready_reason: str | None = None
        try:
            self.active = Version.open_active(config.settings.serving_dir, self.sql)
        except NotReady as exc:
            self.not_ready_reason = str(exc)
        gc.collect()  # the start-up garbage, before the survivors are frozen
        gc.freeze()
        self._stop = threading.Event()
        self._pointer_watch: threading.Thread | None = None
        if config.version_check_s > 0:
            self._pointer_watch = threading.Thread(target=self._follow_pointer, name="version-check", daemon=True)
            self._pointer_watch.start()

    def _follow_pointer(self) -> None:
        """Reload when ACTIVE.json names another version (workers behind one port: a reload
        request reaches only one of them). One small file read per interval."""
        failed: dict[int, int] = {}  # version -> failed attempts: retried, less and less often
        checks = 0
        while not self._stop.wait(self.config.version_check_s):
            checks += 1
            try:
                version, _ = Version.active_version(self.config.settings.serving_dir)
            except NotReady:
                continue  # nothing published yet: /health says so
            if self.active is not None and self.active.number == version:
                continue
            tries = failed.get(version, 0)
            if tries and checks % min(2**tries, 30):  # a folder still being copied: wait for it
                continue
            try:
                self.reload()
                failed.pop(version, None)
            except Exception as exc:  # noqa: BLE001 - a broken version: keep serving the old one
                failed[version] = tries + 1
                log.warning("version check: cannot open version %s (attempt %d): %s", version, tries + 1, exc)

    def current(self) -> Version:
        version = self.active  # one attribute read: the whole request uses this version
        if version is None:
            raise NotReady(self.not_ready_reason or "no published version")
        return version

    def reload(self) -> tuple[int | None, int]:
        """Open the version ACTIVE.json names and switch to it; the old one closes after a grace period."""
        with self._swap_lock:
            version, folder = Version.active_version(self.config.settings.serving_dir)
            old = self.active
            if old is not None and old.number == version:
                missing = missing_files(folder)
                if missing:  # nothing to switch to: say so, and keep serving from memory
                    raise NotReady(f"version {version}'s folder {folder} lacks {', '.join(missing)}")
                return old.number, old.number
            new = Version.open(folder, self.sql)
            gc.freeze()
            self.active = new
            self.not_ready_reason = None
        if old is not None:
            timer = threading.Timer(self.config.reload_grace_s, old.close)
            timer.daemon = True
            timer.start()
        return (old.number if old else None), new.number

    def close(self) -> None:
        self._stop.set()
        if self._pointer_watch is not None:
            self._pointer_watch.join(timeout=5)
        if self.active is not None:
            self.active.close()
        self.feedback.close()
