"""Prometheus metrics of one server process, at ``GET /metrics`` (text exposition format).

The request path pays nothing for them: requests are counted and timed when the request log
folds its queue (its background thread, a few times a second, and before every scrape); the
cache, the tiers and the active version are read when Prometheus scrapes. Each server has its
own registry (``prometheus_client``'s global default one is never used), so two apps in one
process, as in the tests, never share counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

#: Request latency buckets (seconds): a cached answer takes ~0.1 ms, a ranker list ~20 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Feedback store latency buckets (seconds): a DuckDB insert and commit takes about a millisecond.
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Counters and histograms fed by the request log and the feedback store, plus a collector
    that reads the serving state (cache, tiers, version) at scrape time."""

    def __init__(self) -> None:
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
        """Report what ``state()`` returns at every scrape: {"cache": RecCache.stats(),
        "tiers": {tier: count}, "model_version": int or None}."""
        self.registry.register(_StateCollector(state))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


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
