"""Hostile inputs, replayed against a live `recsys serve`: one line per attack with the status
codes it got and the server's memory (RSS) after it; then the 5xx count, the tracebacks in the
server's log, and RSS from after the warm-up to the end.

    python benchmarks/bench_hostile.py --data ../shared/data/ml-latest-small

The server runs with its defaults (rate limits on, the cache at its default budget), its log
at info level to a file. The attacks: a 4,301-digit path id on every route that takes one; a
rotating X-Forwarded-For against the ratings and admin rate limits; control bytes in paths; a
flood of deep pages with 500 random excluded ids each (the cache's byte budget); Retry-After on
answers that are not 429s; a broken ACTIVE.json (CLI and reload); a corrupt feedback file; a
killed `recsys simulate`; deep pages of /similar; the active folder moved away (health,
reload); slow and vanishing clients; unknown movies in a body; repeated parameters and JSON
keys; a 3,000-parameter query echoed in a 400. Results: printed and written to
benchmarks/out/hostile.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from bench_soak import _free_port, _rss_mb  # the same server-process helpers (this folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
KEY = "hostile-key"
HUGE_ID = "1" * 4301


def _codes(statuses: list[int]) -> str:
    return " ".join(f"{code}x{n}" for code, n in sorted(collections.Counter(statuses).items()))


async def _many(base: str, requests: list[tuple[str, str, dict]], connections: int = 16) -> list[int]:
    """Send (method, path, httpx keyword arguments) requests over ``connections`` at once."""
    statuses: list[int] = []
    queue = list(reversed(requests))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def worker() -> None:
            while queue:
                method, path, kwargs = queue.pop()
                try:
                    statuses.append((await client.request(method, path, **kwargs)).status_code)
                except httpx.HTTPError:
                    statuses.append(0)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def _raw(base: str, data: bytes, *, wait_s: float = 10.0, close_after_s: float | None = None) -> bytes:
    """Send raw bytes; read the answer (or close after ``close_after_s`` without reading)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as conn:
        conn.sendall(data)
        if close_after_s is not None:
            time.sleep(close_after_s)
            return b""
        try:
            return conn.recv(4096)
        except TimeoutError:
            return b""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ml-latest-small")
    parser.add_argument("--flood", type=int, default=14_000, help="requests of the exclude flood")
    args = parser.parse_args()
    work = ROOT / "benchmarks" / "out" / "hostile"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "RECSYS_WAREHOUSE": str(work / "movielens.duckdb"), "RECSYS_SPLIT_STRATEGY": "per_user",
           "RECSYS_ADMIN_KEY": KEY, "RECSYS_ACCESS_LOG": str(work / "access.log")}  # fmt: skip
    recsys = [sys.executable, "-m", "recommender"]
    if not (work / "serving" / "ACTIVE.json").exists():
        subprocess.run([*recsys, "run", str(args.data), "--trials", "2", "--out", str(work / "reports"), "-q"],
                       env=env, check=True, capture_output=True)  # fmt: skip
    feedback = work / "feedback.duckdb"
    feedback.unlink(missing_ok=True)
    (work / "access.log").unlink(missing_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = work / "server.log"
    with open(server_log, "w") as log_file:
        server = subprocess.Popen([*recsys, "serve", "--port", str(port), "--log-level", "info"],
                                  env={**env, "RECSYS_FEEDBACK_DB": str(feedback)}, stdout=log_file,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    lines: list[dict] = []
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        users = httpx.get(base + "/users/sample?n=50").json()["user_ids"]
        rng = random.Random(3)
        # warm-up: ordinary traffic, so that RSS is measured with the caches and models in use
        asyncio.run(_many(base, [("GET", f"/recommend/{rng.choice(users)}?k=10&offset={rng.choice([0, 20, 40])}", {})
                                 for _ in range(2_000)]))  # fmt: skip
        rss_warm = _rss_mb(server.pid)

        def attack(name: str, run: Callable[[], tuple[list[int], str]]) -> None:
            statuses, note = run()
            line = {"attack": name, "statuses": _codes(statuses), "note": note, "rss_mb": round(_rss_mb(server.pid))}
            lines.append(line)
            print(f"{name:<34} {line['statuses']:<28} rss {line['rss_mb']:>5} MB  {note}", flush=True)

        def huge_ids():
            paths = [f"/recommend/{HUGE_ID}", f"/compare/{HUGE_ID}", f"/movies/{HUGE_ID}", f"/similar/{HUGE_ID}"]
            out = [httpx.get(base + p).status_code for p in paths]
            out.append(httpx.post(f"{base}/users/{HUGE_ID}/ratings", json={"movie_id": 1, "rating": 4}).status_code)
            return out, "every route that takes an id"

        def forwarded_ratings():
            def rating(i: int) -> tuple[str, str, dict]:
                forwarded = {"X-Forwarded-For": f"10.1.{i // 250}.{i % 250}"}
                return (
                    "POST",
                    f"/users/{900_000 + i}/ratings",
                    {"json": {"movie_id": 1, "rating": 4.0}, "headers": forwarded},
                )

            reqs = [rating(i) for i in range(700)]
            return asyncio.run(_many(base, reqs, 4)), "700 ratings, a new X-Forwarded-For each (limit 600/min)"

        def forwarded_admin():
            reqs = [("POST", "/admin/reload", {"headers": {"X-API-Key": "wrong", "X-Forwarded-For": f"10.2.0.{i}"}})
                    for i in range(200)]  # fmt: skip
            return asyncio.run(_many(base, reqs, 4)), "200 wrong admin keys, a new X-Forwarded-For each (limit 120/min)"

        def control_bytes():
            out = [httpx.get(base + p).status_code for p in ("/app/%00", "/app/index.html%00.txt", "/recommend/1%00")]
            return out, "NUL and newline bytes in paths"

        def flood():
            reqs = []
            for i in range(args.flood):
                exclude = "&".join(f"exclude={rng.randint(1, 200_000)}" for _ in range(500))
                reqs.append(("GET", f"/recommend/{rng.choice(users)}?k=100&offset={21 + i % 79}&{exclude}", {}))
            statuses = asyncio.run(_many(base, reqs))
            cache = httpx.get(base + "/stats").json()["cache"]
            return statuses, f"{args.flood:,} deep pages, 500 excluded ids each; cache {cache['bytes'] / 2**20:.1f} MB"

        def retry_after():
            created = httpx.post(f"{base}/users/990001/ratings", json={"movie_id": 1, "rating": 4.0},
                                 headers={"X-Forwarded-For": "10.3.0.1"})  # fmt: skip
            refused = httpx.post(f"{base}/users/990001/ratings", content=b"{}", headers={"content-type": "text/plain"})
            carried = [r.status_code for r in (created, refused) if "retry-after" in r.headers]
            return [created.status_code, refused.status_code], f"Retry-After on: {carried or 'none of them'}"

        def broken_pointer():
            pointer = work / "serving" / "ACTIVE.json"
            good = pointer.read_text()
            out, notes = [], []
            try:
                for broken in ('{"version": 1e400, "path": "v0001"}', "dir"):
                    pointer.unlink()
                    pointer.mkdir() if broken == "dir" else pointer.write_text(broken)
                    out.append(httpx.post(f"{base}/admin/reload", headers={"X-API-Key": KEY}).status_code)
                    cli = subprocess.run([*recsys, "versions"], env=env, capture_output=True, text=True)
                    notes.append(f"versions rc {cli.returncode}, {len(cli.stderr.strip().splitlines())} line(s)")
                    if pointer.is_dir():
                        pointer.rmdir()
                        pointer.touch()
            finally:
                pointer.unlink(missing_ok=True)
                pointer.write_text(good)
            return out, "; ".join(notes)

        def corrupt_feedback():
            import duckdb

            copy = work / "corrupt-feedback.duckdb"
            copy.unlink(missing_ok=True)
            con = duckdb.connect(str(copy))  # a database, then damaged past its header
            con.execute("create table ratings as select range as seq, range % 500 as user_id from range(200000)")
            con.close()
            data = bytearray(copy.read_bytes())
            for offset in range(12_296, len(data), 97):
                data[offset] ^= 0xFF
            copy.write_bytes(bytes(data))
            cli = subprocess.run([*recsys, "serve", "--port", str(_free_port())], capture_output=True, text=True,
                                 env={**env, "RECSYS_FEEDBACK_DB": str(copy)}, timeout=120)  # fmt: skip
            copy.unlink()
            said = cli.stderr.strip().splitlines()
            return [], f"serve rc {cli.returncode}, {len(said)} line(s): {said[-1][:90] if said else ''}..."

        def killed_simulation():
            proc = subprocess.Popen([*recsys, "simulate", "--start", "2016-01-01", "--step", "60d", "--steps", "6",
                                     "--models", "als,itemknn"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)  # fmt: skip
            for line in proc.stdout:  # the first step's first row: then kill it
                if "step 1" in line:
                    break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            import duckdb

            con = duckdb.connect(str(work / "movielens.duckdb"), read_only=True)
            try:
                steps = con.execute("select count(*) from simulation_steps").fetchall()[0][0]
                finished = con.execute("select count(*) from simulation_runs").fetchall()[0][0]
            finally:
                con.close()
            return [], f"after SIGKILL at step 1: {steps} step rows, {finished} finished simulations"

        def similar_depth():
            first = httpx.get(f"{base}/similar/1?k=40").json()["items"]
            deeper = httpx.get(f"{base}/similar/1?k=20&offset=20").json()["items"]
            return [], f"/similar/1?k=40: {len(first)} items; offset=20: {len(deeper)}"

        def deleted_folder():
            pointer = json.loads((work / "serving" / "ACTIVE.json").read_text())
            folder = work / "serving" / pointer["path"]
            aside = folder.with_name(folder.name + ".aside")
            folder.rename(aside)
            try:
                health = httpx.get(base + "/health")
                reload = httpx.post(f"{base}/admin/reload", headers={"X-API-Key": KEY})
            finally:
                aside.rename(folder)
            reachable = health.json().get("serving_files_reachable")
            return [health.status_code, reload.status_code], f"health says files reachable: {reachable}"

        def slow_clients():
            head = (b"POST /users/5/ratings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{\"movie_id\":")  # fmt: skip
            started = time.monotonic()

            async def slow_one() -> int:
                host, p = base.removeprefix("http://").split(":")
                reader, writer = await asyncio.open_connection(host, int(p))
                writer.write(head)
                await writer.drain()
                answer = await reader.read(100)
                writer.close()
                return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1") else 0

            async def sixty() -> list[int]:
                served = asyncio.create_task(
                    asyncio.to_thread(lambda: httpx.get(base + "/recommend/1?k=5").status_code)
                )
                slow = await asyncio.gather(*(slow_one() for _ in range(60)))
                return [*slow, await served]

            statuses = asyncio.run(sixty())
            for _ in range(20):  # clients that vanish mid-body
                _raw(base, head, close_after_s=0.05)
            took = time.monotonic() - started
            return statuses, f"60 slow bodies (and a normal request meanwhile) ended in {took:.1f} s; 20 vanished"

        def unknown_movies():
            out = [httpx.post(f"{base}/recommend", json={"liked": [0], "model": "ranker"}).status_code,
                   httpx.post(f"{base}/recommend", json={"liked": [1, 99_999_999]}).status_code]  # fmt: skip
            return out, "POST /recommend with ids the catalogue lacks"

        def repeated():
            out = [httpx.get(f"{base}/recommend/1?k=10&k=20").status_code,
                   httpx.get(f"{base}/recommend/1?model=als&model=ease").status_code,
                   httpx.post(f"{base}/users/990002/ratings", content=b'{"movie_id": 1, "rating": 4, "rating": 1}',
                              headers={"content-type": "application/json"}).status_code]  # fmt: skip
            return out, "repeated k, model; a duplicate JSON key"

        def echoed():
            answer = httpx.get(f"{base}/recommend/1?" + "&".join(["genre=Nope"] * 3000))
            return [answer.status_code], f"3,000 genre parameters: detail of {len(answer.json()['detail'])} characters"

        attack("4,301-digit path ids", huge_ids)
        attack("X-Forwarded-For: ratings", forwarded_ratings)
        attack("X-Forwarded-For: admin keys", forwarded_admin)
        attack("control bytes in paths", control_bytes)
        rss_before_floods = _rss_mb(server.pid)
        attack("exclude flood", flood)
        rss_after_flood = _rss_mb(server.pid)
        attack("Retry-After", retry_after)
        attack("broken ACTIVE.json", broken_pointer)
        attack("corrupt feedback file", corrupt_feedback)
        attack("killed recsys simulate", killed_simulation)
        attack("/similar depth", similar_depth)
        attack("active folder moved away", deleted_folder)
        attack("slow and vanishing clients", slow_clients)
        attack("unknown movies in a body", unknown_movies)
        attack("repeated parameters and keys", repeated)
        attack("a long query echoed", echoed)
        alive = httpx.get(base + "/health").status_code
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    text = server_log.read_text(errors="replace")
    result = {
        "attacks": lines,
        "server_errors_500": sum(
            int(n) for line in lines for code, n in (c.split("x") for c in line["statuses"].split()) if code == "500"
        ),
        "tracebacks_in_log": text.count("Traceback"),
        "raw_control_bytes_in_log": sum(text.count(c) for c in ("\x00", "\x7f")),
        "health_after": alive,
        "rss_after_warm_up_mb": round(rss_warm),
        "rss_before_floods_mb": round(rss_before_floods),
        "rss_after_flood_mb": round(rss_after_flood),
        "flood_growth_mb": round(rss_after_flood - rss_before_floods),
    }
    print(
        f"500s: {result['server_errors_500']}, tracebacks in the server's log: {result['tracebacks_in_log']}, "
        f"raw control bytes in it: {result['raw_control_bytes_in_log']}; "
        f"RSS after warm-up {result['rss_after_warm_up_mb']} MB, "
        f"before the flood {result['rss_before_floods_mb']} MB, after it {result['rss_after_flood_mb']} MB "
        f"(+{result['flood_growth_mb']} MB); health after all: {alive}"
    )
    out = ROOT / "benchmarks" / "out" / "hostile.json"
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
