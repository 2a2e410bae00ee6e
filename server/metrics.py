"""Prometheus metrics of one server process, at ``GET /metrics`` (text exposition format).

The request path pays nothing for them: requests are counted and timed when the request log
folds its queue (its background thread, a few times a second, and before every scrape); the
cache, the tiers and the active version are read when Prometheus scrapes. Each server has its
own registry (``prometheus_client``'s global default one is never used), so two apps in one
process, as in the tests, never share counts.

Several worker processes (`recsys serve --workers N`) share their numbers through
``prometheus_client``'s multiprocess mode: the command points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder before the workers start, each worker writes its values there, and a scrape of any
worker adds them all up. Worker state (cache lookups, tiers) is then copied into counters of its
own from the request log's background thread, so the sums cover every worker too; the cache
size is summed over live workers and the version is reported per live worker (``pid`` label),
which shows a reload that has not reached every worker yet.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

#: Request latency buckets (seconds): a cached answer takes ~0.1 ms, a ranker list ~20 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Feedback store latency buckets (seconds): a DuckDB insert and commit takes about a millisecond.
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Set (to a folder) for every worker of one server: prometheus_client's multiprocess mode.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """Counters and histograms fed by the request log and the feedback store, plus a collector
    that reads the serving state (cache, tiers, version) at scrape time."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_ENV))
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests answered, by route template and status class",
            ["method", "route", "status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Time from the request's arrival to its last byte, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store = Histogram(
            "recsys_feedback_store_seconds",
            "Time of a feedback store operation (add: insert a rating and commit)",
            ["operation"],
            buckets=STORE_BUCKETS,
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        route = route or "unmatched"
        self.requests.labels(method, route, f"{status // 100}xx").inc()
        self.latency.labels(method, route).observe(seconds)

    def watch(self, state: Callable[[], dict[str, Any]]) -> None:
        """Report what ``state()`` returns: {"cache": RecCache.stats(), "tiers": {tier: count},
        "model_version": int or None}; read at every scrape, or, with several workers, copied
        into shared metrics by ``sync`` (the request log calls it after each drain)."""
        if self.multiprocess:
            self._shared = _SharedState(state, self.registry)
        else:
            self.registry.register(_StateCollector(state))

    def sync(self) -> None:
        if self.multiprocess and hasattr(self, "_shared"):
            self._shared.sync()

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        self.sync()
        _forget_dead_workers(Path(os.environ[MULTIPROCESS_ENV]))
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker)
        return generate_latest(every_worker)

    def close(self) -> None:
        """A worker leaving: its live gauges stop counting (its counters stay in the sums)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())


def _forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that died without a clean stop (SIGKILL, the OOM killer:
    uvicorn starts a replacement, but nobody marked the dead one), so that ``/metrics`` shows
    live workers only. Their counters stay in the sums, as they should."""
    for path in folder.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(folder))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class _SharedState:
    """The state collector's numbers as multiprocess metrics: counters moved by the change
    since the last sync, gauges set."""

    def __init__(self, state: Callable[[], dict[str, Any]], registry: CollectorRegistry) -> None:
        self.state = state
        self.lookups = Counter(
            "recsys_cache_lookups", "Response cache lookups, by result", ["result"], registry=registry
        )
        self.answers = Counter(
            "recsys_answers", "Recommendation answers, by the answering tier", ["tier"], registry=registry
        )
        self.entries = Gauge(
            "recsys_cache_entries", "Entries in the response cache", registry=registry, multiprocess_mode="livesum"
        )
        self.version = Gauge(
            "recsys_model_version",
            "The serving version number (0: none published), per live worker",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()  # the request log's thread and a scrape may sync at once

    def sync(self) -> None:
        with self._lock:
            self._sync()

    def _sync(self) -> None:
        state = self.state()
        cache = state.get("cache") or {}
        for result, key in (("hit", "hits"), ("miss", "misses")):
            self._advance(self.lookups, "result", result, cache.get(key, 0))
        for tier, count in (state.get("tiers") or {}).items():
            self._advance(self.answers, "tier", tier, count)
        self.entries.set(cache.get("size", 0))
        self.version.set(state.get("model_version") or 0)

    def _advance(self, counter: Counter, kind: str, label: str, total: float) -> None:
        seen = self._seen.get((kind, label), 0)
        if total > seen:
            counter.labels(label).inc(total - seen)
            self._seen[(kind, label)] = total


class _StateCollector:
    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        self.state = state

    def describe(self):  # nothing to describe up front: the values exist only at scrape time
        return []

    def collect(self):
        state = self.state()
        cache = state.get("cache") or {}
        lookups = CounterMetricFamily("recsys_cache_lookups", "Response cache lookups, by result", labels=["result"])
        lookups.add_metric(["hit"], cache.get("hits", 0))
        lookups.add_metric(["miss"], cache.get("misses", 0))
        yield lookups
        yield GaugeMetricFamily("recsys_cache_entries", "Entries in the response cache", value=cache.get("size", 0))
        tiers = CounterMetricFamily("recsys_answers", "Recommendation answers, by the answering tier", labels=["tier"])
        for tier, count in sorted((state.get("tiers") or {}).items()):
            tiers.add_metric([tier], count)
        yield tiers
        version = state.get("model_version")
        yield GaugeMetricFamily(
            "recsys_model_version", "The serving version number (0: none published)", value=version or 0
        )
