"""The main job end to end on the 25M-shaped data: `recsys run DATA` in a fresh warehouse.

    python benchmarks/generate_movielens.py --out data/synthetic/ml-25m-synth
    python benchmarks/bench_main_job.py --data data/synthetic/ml-25m-synth

Runs `recsys run` in a child process with its output redirected (as in a log), then reads
the stage times from its stage lines, its peak memory (max RSS of the child) and, from the
run log, the tuning cost per model (the summed wall time of its tune / sweep runs, on the
tuning sample) and every model's test NDCG@10. Targets: at most 10 minutes and
6 GB on 2 cores. Results: printed and written to benchmarks/out/main_job.json (with the log).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGE = re.compile(r"^done in (\d+)s \((.*)\)\.", re.M)
#: A stage's first line: "[3/7] tune ...": its name is the first word, as in the summary line.
STAGE_START = re.compile(r"^\[\d+/\d+\] (\S+)", re.M)


def watch_memory(child: subprocess.Popen, log: Path, every_s: float = 0.5) -> list[tuple[float, str, str]]:
    """Sample the child's resident memory every ``every_s`` seconds with the log's last line and
    the stage running at that moment, in a thread, so the report can say in which step and
    stage the peak happened."""
    samples: list[tuple[float, str, str]] = []

    def sample() -> None:
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            try:
                text = status.read_text().splitlines()
                rss_kb = next(int(line.split()[1]) for line in text if line.startswith("VmRSS"))
                text = log.read_text()
            except (OSError, StopIteration):
                break
            lines = text.strip().splitlines()
            stages = STAGE_START.findall(text)
            samples.append((rss_kb / 1024 / 1024, lines[-1][:100] if lines else "", stages[-1] if stages else ""))
            time.sleep(every_s)

    threading.Thread(target=sample, daemon=True).start()
    return samples


def rss_by_line(samples: list[tuple[float, str, str]]) -> list[dict]:
    """The highest resident memory seen while each log line was the last one, in log order
    (every line: two runs compare stage by stage)."""
    peaks: dict[str, float] = {}
    for gb, line, _ in samples:
        peaks[line] = max(gb, peaks.get(line, 0.0))
    return [{"after": line, "rss_gb": round(gb, 2)} for line, gb in peaks.items()]


def rss_by_stage(samples: list[tuple[float, str, str]]) -> dict[str, float]:
    """The highest resident memory seen in each stage (by the summary line's names), in order."""
    peaks: dict[str, float] = {}
    for gb, _, stage in samples:
        if stage:
            peaks[stage] = round(max(gb, peaks.get(stage, 0.0)), 2)
    return peaks


def run_main_job(data: Path, out: Path, trials: int | None = None) -> dict:
    """`recsys run DATA` in a fresh warehouse under ``out`` (a child process): its wall time,
    peak memory, stage times and peak memory per stage, tuning cost and test scores."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    warehouse = out / "movielens.duckdb"
    command = [
        sys.executable,
        "-m",
        "recommender",
        "run",
        str(data.resolve()),
        "--warehouse",
        str(warehouse),
        "--out",
        str(out / "reports"),
    ]
    if trials:
        command += ["--trials", str(trials)]
    log = out / "run.log"
    started = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=out)
        timeline = watch_memory(child, log)
        child.wait()
    seconds = time.perf_counter() - started
    done = child
    # the largest of this process's children so far: run each size from a fresh process to
    # read one job's peak (the per-stage peaks below are this child's own, sampled)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    text = log.read_text()
    if done.returncode != 0:
        raise SystemExit(f"recsys run failed ({done.returncode}); see {log}:\n{text[-3000:]}")
    match = STAGE.search(text)
    stages = {}
    if match:
        for part in match.group(2).split(", "):
            name, value = part.rsplit(" ", 1)
            stages[name] = float(value.rstrip("s"))

    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    tuning = con.execute(
        "select model, count(*) as runs, sum(total_s) as seconds, max(n_users) as users from runs "
        "where kind in ('tune', 'sweep') group by model order by model"
    ).fetchall()
    ndcg = con.execute(
        "select r.model, m.value from runs r join run_metrics m using (run_id) "
        "where r.kind = 'evaluate' and m.metric = 'ndcg' and m.k = 10 order by m.value desc"
    ).fetchall()
    sizes = con.execute("select part, users, rows from split_summary where strategy = 'per_user'").fetchall()
    con.close()
    return {
        "data": str(data),
        "seconds": round(seconds, 1),
        "peak_gb": round(peak_gb, 2),
        "stages_s": stages,
        "stage_peak_gb": rss_by_stage(timeline),
        "tuning": [{"model": m, "runs": n, "seconds": round(s, 1), "users": u} for m, n, s, u in tuning],
        "test_ndcg@10": {m: round(v, 4) for m, v in ndcg},
        "split": [{"part": p, "users": u, "rows": r} for p, u, r in sizes],
        "log": str(log),
        "rss_by_stage_gb": rss_by_line(timeline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a MovieLens folder (25M-shaped)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "main_job")
    parser.add_argument("--trials", type=int, help="override the per-model trial budgets")
    args = parser.parse_args()
    result = run_main_job(args.data, args.out, args.trials)
    (args.out.parent / "main_job.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
