"""Soak: mixed traffic against one server for --minutes, with a retrain + reload every
--retrain-every seconds; errors, p99 and the server's memory (RSS) per minute.

    python benchmarks/bench_soak.py --data ../shared/data/ml-latest-small --minutes 10

Traffic (16 connections, asyncio client in this process, bounded by time): /recommend 40 %,
/compare 15 %, /similar 15 %, /movies?q= 10 %, POST /users/{id}/ratings 20 % (new users and
known ones). Meanwhile `recsys retrain --reload URL` runs in another process: it copies the
posted ratings into the warehouse, evaluates, refits, publishes and reloads the server.
An error is a 5xx or a failed connection; 4xx answers are counted apart (none are expected).
Results: printed and written to benchmarks/out/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = "soak-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _traffic(base: str, stop_at: float, connections: int, users: list[int], movies: list[int], log: list):
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=connections)) as client:

        async def worker(n: int) -> None:
            i = 0
            while time.monotonic() < stop_at:
                roll, user, movie = rng.random(), rng.choice(users), rng.choice(movies)
                if roll < 0.40:
                    req = client.get(f"/recommend/{user}?k=10&model={rng.choice(['als', 'diverse', 'itemknn'])}")
                elif roll < 0.55:
                    req = client.get(f"/compare/{user}?k=10")
                elif roll < 0.70:
                    req = client.get(f"/similar/{movie}?k=10")
                elif roll < 0.80:
                    req = client.get(f"/movies?q={rng.choice(['the', 'star', 'love', 'man'])}&limit=10")
                else:
                    who = user if rng.random() < 0.5 else 5_000_000 + n * 100_000 + i % 500
                    req = client.post(
                        f"/users/{who}/ratings", json={"movie_id": movie, "rating": rng.choice([2.0, 4.5, 5.0])}
                    )
                started = time.monotonic()
                try:
                    status = (await req).status_code
                except httpx.HTTPError:
                    status = 0
                log.append((started, time.monotonic() - started, status))
                i += 1

        await asyncio.gather(*(worker(n) for n in range(connections)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ml-latest-small")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--retrain-every", type=float, default=180, help="seconds between retrains")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = ROOT / "benchmarks" / "out" / "soak"
    env = {**os.environ, "RECSYS_WAREHOUSE": str(work / "movielens.duckdb"), "RECSYS_SPLIT_STRATEGY": "per_user",
           "RECSYS_ADMIN_KEY": KEY, "RECSYS_ACCESS_LOG": "off", "RECSYS_RATE_LIMIT_RATINGS": "0",
           "RECSYS_RATE_LIMIT_ADMIN": "0"}  # fmt: skip
    recsys = [sys.executable, "-m", "recommender"]
    if not (work / "serving" / "ACTIVE.json").exists():
        subprocess.run([*recsys, "run", str(args.data), "--trials", "2", "--out", str(work / "reports")], env=env,
                       check=True, capture_output=True)  # fmt: skip
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*recsys, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    users = httpx.get(base + "/users/sample?n=50").json()["user_ids"]
    movies = [m["movie_id"] for q in ("the", "a", "star") for m in httpx.get(f"{base}/movies?q={q}&limit=100").json()]
    log: list = []
    retrains: list = []
    memory: list = []
    started = time.monotonic()
    stop_at = started + args.minutes * 60

    async def run() -> None:
        traffic = asyncio.create_task(_traffic(base, stop_at, args.connections, users, movies, log))
        next_retrain, next_sample = started + args.retrain_every, started
        while time.monotonic() < stop_at:
            now = time.monotonic()
            if now >= next_sample:
                memory.append((now - started, _rss_mb(server.pid)))
                next_sample += 60
            if now >= next_retrain:
                t = time.monotonic()
                proc = await asyncio.create_subprocess_exec(*recsys, "retrain", "--reload", base, env=env,
                                                            stdout=asyncio.subprocess.DEVNULL,
                                                            stderr=asyncio.subprocess.PIPE)  # fmt: skip
                _, err = await proc.communicate()
                retrains.append({"at_s": round(t - started, 1), "seconds": round(time.monotonic() - t, 1),
                                 "rc": proc.returncode, "tail": err.decode()[-300:]})  # fmt: skip
                next_retrain += args.retrain_every
            await asyncio.sleep(1)
        await traffic
        memory.append((time.monotonic() - started, _rss_mb(server.pid)))

    try:
        asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)
    at = np.array([t - started for t, _, _ in log])
    ms = np.array([d * 1000 for _, d, _ in log])
    status = np.array([s for _, _, s in log])
    minutes = []
    for m in range(int(np.ceil(args.minutes))):
        sel = (at >= m * 60) & (at < (m + 1) * 60)
        rss = [r for t, r in memory if m * 60 <= t < (m + 1) * 60 + 1]
        minutes.append({"minute": m + 1, "requests": int(sel.sum()),
                        "errors": int(((status[sel] == 0) | (status[sel] >= 500)).sum()),
                        "client_errors": int(((status[sel] >= 400) & (status[sel] < 500)).sum()),
                        "p50_ms": round(float(np.percentile(ms[sel], 50)), 1) if sel.any() else None,
                        "p99_ms": round(float(np.percentile(ms[sel], 99)), 1) if sel.any() else None,
                        "rss_mb": round(rss[0], 1) if rss else None})  # fmt: skip
    first_reload = next((r["at_s"] + r["seconds"] for r in retrains if r["rc"] == 0), None)
    after = [r for t, r in memory if first_reload is not None and t >= first_reload]
    growth = (max(after) / after[0] - 1) if len(after) > 1 else None
    result = {"minutes": minutes, "retrains": retrains, "requests": len(log),
              "errors": int(((status == 0) | (status >= 500)).sum()),
              "client_errors": int(((status >= 400) & (status < 500)).sum()),
              "rss_growth_after_first_reload": growth}  # fmt: skip
    out = ROOT / "benchmarks" / "out" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print("minute  requests  errors  4xx  p50_ms  p99_ms  rss_mb")
    for m in minutes:
        print(f"{m['minute']:6d}  {m['requests']:8d}  {m['errors']:6d}  {m['client_errors']:3d}  "
              f"{m['p50_ms']!s:>6}  {m['p99_ms']!s:>6}  {m['rss_mb']!s:>6}")  # fmt: skip
    print(f"retrains: {[(r['at_s'], r['seconds'], r['rc']) for r in retrains]}")
    print(f"errors {result['errors']}, 4xx {result['client_errors']}, RSS growth after the first reload "
          f"{growth:.1%}" if growth is not None else "no reload")  # fmt: skip
    print(f"written to {out}")


if __name__ == "__main__":
    main()
