"""Serving benchmark: precompute cost vs bare `implicit` batch calls, and HTTP throughput.

    python benchmarks/bench_warehouse.py --data data/synthetic/ml-25m-synth   # the warehouse
    python benchmarks/bench_serving.py                                         # precompute + load test

1. Precompute (subprocess, peak memory measured there): the production refit of the four
   models, every user's top-20, reasons, similar movies, checks and publication; compared
   with the bare library calls that produce the same fits and lists (ALS and ItemKNN fits,
   ALS top-20 and top-100 for the re-ranker's candidates, ItemKNN top-20, a popularity
   argsort) in the same process (see benchmarks/bench_retrain.py).
2. Load (wrk if installed, else a Python generator; one uvicorn worker each, same machine,
   same run): a bare Litestar endpoint returning 10 constant items; /recommend with a warm
   cache; /recommend with the cache disabled; /compare. Every scenario runs once per round,
   back to back, for --rounds rounds; medians are reported.
3. Scale-out (``--scale-out``, after a run that published a version): a throwaway PostgreSQL
   cluster; one server on the DuckDB feedback file, one worker on PostgreSQL, two workers on
   PostgreSQL. Warm /recommend requests/s with 2 workers against 1, and POST
   /users/{id}/ratings latency on each store.
Results: printed and written to benchmarks/out/serving.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def phase_precompute(warehouse: Path, strategy: str) -> dict:
    """The production refit + precompute against the bare calls (benchmarks/bench_retrain.py)."""
    from benchmarks.bench_retrain import phase_precompute as measure

    return measure(warehouse, strategy)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd: list[str], env: dict, port: int, path: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server {' '.join(cmd)} did not start")


def _wrk(port: int, paths: list[str], seconds: int, connections: int) -> dict:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    # a path is a GET; a (path, body) pair is a JSON POST
    gets = [p if isinstance(p, str) else p[0] for p in paths]
    bodies = ["" if isinstance(p, str) else json.dumps(p[1]) for p in paths]
    script.write(
        "paths = {" + ",".join(json.dumps(p) for p in gets) + "}\n"
        "bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}\ncounter = 0\n"
        "request = function()\n counter = counter + 1\n local i = (counter % #paths) + 1\n"
        " if bodies[i] == '' then return wrk.format('GET', paths[i]) end\n"
        " return wrk.format('POST', paths[i], {['Content-Type'] = 'application/json'}, bodies[i])\nend\n"
    )
    script.close()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)

    def ms(label):
        m = re.search(rf"^\s*{label}%?\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def _python_load(port: int, paths: list[str], seconds: int, connections: int) -> dict:
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = offset
        while time.monotonic() < deadline:
            t = time.perf_counter()
            path = paths[i % len(paths)]
            if isinstance(path, str):
                conn.request("GET", path)
            else:
                conn.request("POST", path[0], json.dumps(path[1]), {"Content-Type": "application/json"})
            res = conn.getresponse()
            res.read()
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)
                errors[0] += res.status >= 400
            i += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50_ms": q[49], "p99_ms": q[98], "errors": errors[0]}


def _medians(measured: list[dict]) -> dict:
    """One scenario's rounds: medians, errors summed, and every round's rate and p99."""
    return {
        "rps": round(statistics.median(r["rps"] for r in measured), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in measured), 3),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in measured), 3),
        "errors": sum(r["errors"] for r in measured),
        "rps_per_round": [round(r["rps"]) for r in measured],
        "p99_ms_per_round": [round(r["p99_ms"], 2) for r in measured],
    }


def load_test(phase: dict, seconds: int, connections: int, rounds: int) -> dict:
    """All servers run side by side (an idle one costs nothing); each round measures every
    scenario once, back to back, so the warm/bare ratio compares runs seconds apart. This
    machine's speed drifts by ±30% over minutes, so medians over rounds are reported."""
    load = _wrk if shutil.which("wrk") else _python_load
    settings_env = {**os.environ, "RECSYS_ARTIFACTS_DIR": phase["artifacts_root"], "RECSYS_SPLIT_STRATEGY": "per_user"}
    users = list(range(1, 2001))
    warm_paths = [f"/recommend/{u}?k=10&model=als" for u in users[:200]]
    cold_paths = [f"/recommend/{u}?k=10&model=als" for u in users]
    compare_paths = [f"/compare/{u}?k=10" for u in users[:200]]
    # request-time lists: filters, deeper pages and anonymous sessions, uncached
    genres = ["Comedy", "Drama", "Action", "Thriller", "Romance", "Horror", "Documentary", "Sci-Fi"]
    models = ["als", "ease", "itemknn", "popular"]
    filtered_paths = [
        f"/recommend/{u}?k=10&model={models[u % 4]}&genre={genres[u % 8]}" + ("&year_min=1990" if u % 3 == 0 else "")
        for u in users
    ]
    page_paths = [f"/recommend/{u}?k=10&offset={20 + 10 * (u % 8)}&model={models[u % 4]}" for u in users]
    ranker_paths = [f"/recommend/{u}?k=10&model=ranker" for u in users]
    session_posts = [
        ("/recommend", {"liked": [1 + (u * 7919 + j * 104729) % 5000 for j in range(5)], "model": models[u % 3]})
        for u in users
    ]
    servers, ports = [], {}
    try:
        ports["bare"] = _free_port()
        servers.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "benchmarks.bare_app:app",
                    "--port",
                    str(ports["bare"]),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                {**os.environ, "PYTHONPATH": str(ROOT)},
                ports["bare"],
                "/items",
            )
        )
        scratch = Path(tempfile.mkdtemp(prefix="bench-serving-"))
        for name, cache_size in (("cached", "10000"), ("uncached", "0")):
            ports[name] = _free_port()
            env = {
                **settings_env,
                "RECSYS_CACHE_SIZE": cache_size,
                "RECSYS_FEEDBACK_DB": str(scratch / f"{name}-feedback.duckdb"),
            }  # one server per file
            servers.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "recommender",
                        "serve",
                        "--port",
                        str(ports[name]),
                        "--log-level",
                        "warning",
                    ],
                    env,
                    ports[name],
                    "/health",
                )
            )
        for p in warm_paths + compare_paths:  # warm-up: one request each fills the cache
            conn = http.client.HTTPConnection("127.0.0.1", ports["cached"])
            conn.request("GET", p)
            conn.getresponse().read()
        scenarios = {
            "bare_constant_list": ("bare", ["/items"], connections),
            "recommend_warm_cache": ("cached", warm_paths, connections),
            "recommend_no_cache": ("uncached", cold_paths, connections),
            "recommend_no_cache_2_connections": ("uncached", cold_paths[::-1], 2),  # latency without queueing
            "compare_warm_cache": ("cached", compare_paths, connections),
            "recommend_filtered_no_cache": ("uncached", filtered_paths, connections),
            "recommend_page_past_20_no_cache": ("uncached", page_paths, connections),
            "session_post_no_cache": ("uncached", session_posts, connections),
            "recommend_ranker_no_cache": ("uncached", ranker_paths, connections),
        }
        runs: dict[str, list[dict]] = {name: [] for name in scenarios}
        for _ in range(rounds):
            for name, (server, paths, conns) in scenarios.items():
                runs[name].append(load(ports[server], paths, seconds, conns))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()
    results = {
        "tool": "wrk" if shutil.which("wrk") else "python",
        "seconds": seconds,
        "connections": connections,
        "rounds": rounds,
    }
    results.update({name: _medians(measured) for name, measured in runs.items()})
    shares = [w["rps"] / b["rps"] for w, b in zip(runs["recommend_warm_cache"], runs["bare_constant_list"])]
    results["warm_recommend_share_of_bare"] = round(statistics.median(shares), 3)
    results["warm_recommend_share_per_round"] = [round(x, 3) for x in shares]
    return results


def scale_out_test(phase: dict, seconds: int, connections: int, rounds: int) -> dict:
    """The DuckDB file with one worker against PostgreSQL with one and two workers, side by
    side on this machine (client included), every scenario once per round; medians."""
    from tests.postgres_cluster import fresh_database, throwaway_cluster

    load = _wrk if shutil.which("wrk") else _python_load
    env = {
        **os.environ,
        "RECSYS_ARTIFACTS_DIR": phase["artifacts_root"],
        "RECSYS_SPLIT_STRATEGY": "per_user",
        "RECSYS_RATE_LIMIT_RATINGS": "0",
        "RECSYS_ACCESS_LOG": "off",
    }
    warm_paths = [f"/recommend/{u}?k=10&model=als" for u in range(1, 201)]
    servers, ports = [], {}
    with throwaway_cluster(durable=True) as cluster:  # commits reach the disk, as in production
        url = fresh_database(cluster, "bench")
        scratch = Path(tempfile.mkdtemp(prefix="bench-scale-out-"))
        try:
            for name, workers, store in (("duckdb_1", 1, None), ("pg_1", 1, url), ("pg_2", 2, url)):
                ports[name] = _free_port()
                server_env = {**env, "RECSYS_FEEDBACK_DB": str(scratch / f"{name}.duckdb")}
                if store:
                    server_env["RECSYS_FEEDBACK_URL"] = store
                cmd = [sys.executable, "-m", "recommender", "serve", "--port", str(ports[name])]
                servers.append(_start([*cmd, "--workers", str(workers), "--log-level", "warning"], server_env,
                                      ports[name], "/health"))  # fmt: skip
            conn = http.client.HTTPConnection("127.0.0.1", ports["duckdb_1"])
            conn.request("GET", "/recommend/1?k=100&model=popular")
            movies = [i["movie_id"] for i in json.loads(conn.getresponse().read())["items"]]
            # ratings for users the version does not know (their answers are never the warm ones)
            posts = [(f"/users/{900_000 + i}/ratings", {"movie_id": movies[i % len(movies)], "rating": 4.0})
                     for i in range(5000)]  # fmt: skip
            for name in ports:  # warm every worker's cache: each path several times, fresh connections
                for p in warm_paths * 6:
                    c = http.client.HTTPConnection("127.0.0.1", ports[name])
                    c.request("GET", p)
                    c.getresponse().read()
            scenarios = {
                "recommend_warm_duckdb_1_worker": ("duckdb_1", warm_paths),
                "recommend_warm_postgres_1_worker": ("pg_1", warm_paths),
                "recommend_warm_postgres_2_workers": ("pg_2", warm_paths),
                "rating_post_duckdb_1_worker": ("duckdb_1", posts),
                "rating_post_postgres_1_worker": ("pg_1", posts),
                "rating_post_postgres_2_workers": ("pg_2", posts),
            }
            runs: dict[str, list[dict]] = {name: [] for name in scenarios}
            for _ in range(rounds):
                for name, (server, paths) in scenarios.items():
                    runs[name].append(load(ports[server], paths, seconds, connections))
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait()
            shutil.rmtree(scratch, ignore_errors=True)
    results: dict = {"connections": connections, "seconds": seconds, "rounds": rounds, "cores": os.cpu_count()}
    results.update({name: _medians(measured) for name, measured in runs.items()})
    pairs = zip(runs["recommend_warm_postgres_2_workers"], runs["recommend_warm_duckdb_1_worker"])
    results["warm_2_workers_over_1"] = round(statistics.median(a["rps"] / b["rps"] for a, b in pairs), 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=Path("benchmarks/out/warehouse/movielens.duckdb"))
    parser.add_argument("--strategy", default="per_user")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="times each load scenario runs (medians reported)")
    parser.add_argument(
        "--only-load",
        action="store_true",
        help="reuse the published version and the precompute figures of the last run",
    )
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="only the scale-out case (PostgreSQL feedback, 2 workers) against the published version",
    )
    parser.add_argument("--phase", choices=["precompute"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_out:
        last = Path("benchmarks/out/serving.json")
        report = json.loads(last.read_text()) if last.exists() else {}
        phase = {"artifacts_root": str(args.warehouse.resolve().parent)}
        report["scale_out"] = scale_out_test(phase, args.seconds, args.connections, args.rounds)
        last.write_text(json.dumps(report, indent=2))
        print(json.dumps(report["scale_out"], indent=2))
        return
    if args.phase:
        result = phase_precompute(args.warehouse.resolve(), args.strategy)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    if args.only_load:
        last = Path("benchmarks/out/serving.json")
        report = json.loads(last.read_text()) if last.exists() else {}
        phase = {"artifacts_root": str(args.warehouse.resolve().parent)}
        report["load"] = load_test(phase, args.seconds, args.connections, args.rounds)
        Path("benchmarks/out/serving.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            "precompute",
            "--warehouse",
            str(args.warehouse),
            "--strategy",
            args.strategy,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    phase = json.loads(out.stdout.strip().splitlines()[-1])
    report = {
        "precompute": {
            "users": phase["users"],
            "rows": phase["rows"],
            "ours_s": round(phase["precompute_s"], 2),
            "bare_calls_s": {k: round(v, 2) for k, v in phase["bare_s"].items()},
            "bare_total_s": round(phase["bare_total_s"], 2),
            "ratio": round(phase["precompute_s"] / phase["bare_total_s"], 3),
            "peak_rss_mb": round(phase["peak_rss_mb"]),
        },
        "load": load_test(phase, args.seconds, args.connections, args.rounds),
    }
    Path("benchmarks/out").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/out/serving.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
