"""Per-request records for /stats and the access log, kept off the request path.

A request costs the middleware one deque append. A daemon thread drains the queue every
``interval_s`` (in small batches): it folds the records into per-endpoint counts and latency windows and
writes one JSON line per request to the access-log stream. /stats drains first, so its
figures are always current.

Why not a ``logging`` call per request: a LogRecord plus its handler chain cost more CPU than
the rest of a cached answer (docs/performance.md, serving). Here the lines are encoded in
batches by msgspec and written with one call per batch.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import msgspec
import numpy as np

#: RECSYS_ACCESS_LOG values: "-" is standard error, "off" writes nothing, anything else a file.
STDERR, OFF = "-", "off"
DRAIN_BATCH = 256


class AccessLine(msgspec.Struct, frozen=True):
    """One request, as written to the access log (one JSON object per line)."""

    ts: dt.datetime  # when the response finished, UTC
    endpoint: str  # "METHOD /route/{template}" ("unmatched" when no route matched)
    path: str
    status: int
    ms: float


class RequestLog:
    """Request counts, latency percentiles (last ``window`` per endpoint), answering tiers,
    uptime; and the access log. ``record`` and ``tier`` may be called from any thread."""

    def __init__(
        self,
        destination: str = STDERR,
        window: int = 10_000,
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.time,
        observer: Callable[[str, str | None, int, float], None] | None = None,
        after_drain: Callable[[], None] | None = None,
    ) -> None:
        self.destination = destination
        #: Told of every request as it is folded in: (method, route template, status, seconds).
        self._observer = observer
        #: Called by the background thread after each periodic drain (shared metrics' sync).
        self._after_drain = after_drain
        self._clock = clock
        self._pending: collections.deque = collections.deque()  # append/popleft are thread-safe
        self._tiers_pending: collections.deque = collections.deque()
        self._lock = threading.Lock()  # one drainer at a time
        self._latency: dict[str, collections.deque] = collections.defaultdict(lambda: collections.deque(maxlen=window))
        self._count: collections.Counter = collections.Counter()
        self._client_errors: collections.Counter = collections.Counter()  # 4xx: the request was wrong
        self._server_errors: collections.Counter = collections.Counter()  # 5xx: we were
        self._tiers: collections.Counter = collections.Counter()
        self._encoder = msgspec.json.Encoder()
        self._file: TextIO | None = None
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = clock()

    # -- request path (cheap) --------------------------------------------------------------
    def record(self, method: str, template: str | None, path: str, status: int, seconds: float) -> None:
        self._pending.append((self._clock(), method, template, path, status, seconds))

    def tier(self, name: str) -> None:
        """Count which tier (personalised / fold-in / popular) answered a request."""
        self._tiers_pending.append(name)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the destination and start the drain thread (called in the app's lifespan)."""
        if self.destination not in (STDERR, OFF):
            path = Path(self.destination)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        self._stop.clear()
        self._thread = threading.Thread(target=self._drain_periodically, name="request-log", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.drain()
        if self._file is not None:
            self._file.close()
            self._file = None

    def _drain_periodically(self) -> None:
        while not self._stop.wait(self._interval_s):
            # small batches, yielding the GIL between them: one long drain would hold the
            # event loop for milliseconds and show up in the requests' tail latency
            while self.drain(limit=DRAIN_BATCH) == DRAIN_BATCH:
                time.sleep(0)
            if self._after_drain is not None:
                try:
                    self._after_drain()
                except Exception:  # noqa: BLE001 - never stop the access log for a metrics problem
                    logging.getLogger("recsys.server").exception("after the request log's drain")

    # -- aggregation -------------------------------------------------------------------------
    def drain(self, limit: int | None = None) -> int:
        """Fold pending records (at most ``limit``) into the statistics and write their access
        lines; returns how many requests it took."""
        with self._lock:
            n = len(self._pending) if limit is None else min(limit, len(self._pending))
            records = [self._pending.popleft() for _ in range(n)]
            for _ in range(len(self._tiers_pending)):
                self._tiers[self._tiers_pending.popleft()] += 1
            lines = []
            for ts, method, template, path, status, seconds in records:
                if self._observer is not None:
                    self._observer(method, template, status, seconds)
                endpoint = f"{method} {template or 'unmatched'}"
                ms = seconds * 1000
                self._latency[endpoint].append(ms)
                self._count[endpoint] += 1
                if status >= 500:
                    self._server_errors[endpoint] += 1
                elif status >= 400:
                    self._client_errors[endpoint] += 1
                if self.destination != OFF:
                    lines.append(
                        AccessLine(dt.datetime.fromtimestamp(ts, dt.UTC), endpoint, path, status, round(ms, 3))
                    )
            if lines:
                self._write(self._encoder.encode_lines(lines).decode())
            return len(records)

    def _write(self, text: str) -> None:
        stream = self._file if self._file is not None else sys.stderr  # the current one: it may be replaced
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the server
            pass

    def tiers(self) -> dict[str, int]:
        """How often each tier answered, so far."""
        self.drain()
        with self._lock:
            return dict(self._tiers)

    def snapshot(self) -> dict[str, Any]:
        """Per-endpoint requests, client (4xx) and server (5xx) errors, latency p50/p95/p99 (ms),
        tiers, uptime."""
        self.drain()
        with self._lock:
            endpoints = {}
            for name, values in self._latency.items():
                arr = np.fromiter(values, float)
                p50, p95, p99 = np.percentile(arr, [50, 95, 99]) if len(arr) else (None, None, None)
                endpoints[name] = {
                    "requests": self._count[name],
                    "client_errors": self._client_errors[name],
                    "server_errors": self._server_errors[name],
                    "latency_ms": {"p50": _r(p50), "p95": _r(p95), "p99": _r(p99)},
                }
            return {
                "endpoints": endpoints,
                "tiers": dict(self._tiers),
                "uptime_s": round(self._clock() - self.started, 1),
            }


def _r(value):
    return None if value is None else round(float(value), 3)
