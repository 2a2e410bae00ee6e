"""Warehouse benchmark: ingest vs a bare DuckDB read_csv, then views + both splits + CSR export.

    python benchmarks/generate_movielens.py --out data/synthetic/ml-25m-synth
    python benchmarks/bench_warehouse.py --data data/synthetic/ml-25m-synth

Each phase runs in its own process, so the peak memory (max RSS) reported is that phase's.
Bare baseline and our ingest alternate --repeat times; medians are reported.
Results are printed and written to benchmarks/out/warehouse.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def phase_bare(data: Path, work: Path) -> dict:
    """What a user would type: create table as select * from read_csv('ratings.csv')."""
    db = work / "bare.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    started = time.perf_counter()
    con.execute("create table ratings as select * from read_csv(?)", [str(data / "ratings.csv")])
    seconds = time.perf_counter() - started
    rows = con.execute("select count(*) from ratings").fetchall()[0][0]
    con.close()
    db.unlink()
    return {"bare_read_csv_s": seconds, "rows": rows}


def phase_ingest(data: Path, work: Path) -> dict:
    from recommender.config import Settings
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect, ingest, migrate

    settings = Settings(warehouse=work / "movielens.duckdb")
    for p in work.glob("movielens.duckdb*"):
        p.unlink()
    con = connect(settings)
    migrate(con, settings.sql_dir)
    started = time.perf_counter()
    result = ingest(con, SqlLibrary(settings.sql_dir), data)
    total = time.perf_counter() - started
    con.close()
    per_file = {f.source.file: round(f.duration_s, 3) for f in result.files}
    return {"ingest_total_s": total, "ingest_ratings_s": per_file["ratings.csv"], "per_file_s": per_file}


def phase_splits(data: Path, work: Path) -> dict:
    from recommender.config import Settings
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import build_splits, connect, load_split

    settings = Settings(warehouse=work / "movielens.duckdb")
    sql = SqlLibrary(settings.sql_dir)
    con = connect(settings)
    t0 = time.perf_counter()
    build_splits(con, sql, settings)
    t1 = time.perf_counter()
    shapes, per_strategy = {}, {}
    for strategy in ("global", "per_user"):
        started = time.perf_counter()
        split = load_split(con, sql, strategy)
        matrices = [split.matrix(p) for p in ("train", "val", "test")]
        per_strategy[strategy] = time.perf_counter() - started
        shapes[strategy] = {"shape": list(matrices[0].shape), "nnz": [m.nnz for m in matrices]}
    t2 = time.perf_counter()
    summary = con.execute("select strategy, part, rows, users, movies, dropped_rows from split_summary").fetchall()
    con.close()
    return {
        "views_and_splits_s": t1 - t0,
        "export_csr_s": t2 - t1,
        "export_global_s": per_strategy["global"],
        "export_per_user_s": per_strategy["per_user"],
        "splits_plus_one_export_s": (t1 - t0) + max(per_strategy.values()),
        "views_splits_export_s": t2 - t0,
        "shapes": shapes,
        "split_summary": [list(r) for r in summary],
    }


PHASES = {"bare": phase_bare, "ingest": phase_ingest, "splits": phase_splits}


def run_phase(name: str, data: Path, work: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--data", str(data), "--work", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/synthetic/ml-25m-synth"))
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/warehouse"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed phase; medians are reported [3]")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = PHASES[args.phase](args.data, args.work)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    with open(args.data / "ratings.csv", "rb") as f:  # warm the page cache for both contenders
        shutil.copyfileobj(f, open("/dev/null", "wb"), 1 << 24)
    bares, ingests, splits_runs = [], [], []
    for _ in range(args.repeat):  # interleaved, so drift on the machine hits both contenders
        bares.append(run_phase("bare", args.data, args.work))
        ingests.append(run_phase("ingest", args.data, args.work))
    for _ in range(args.repeat):
        splits_runs.append(run_phase("splits", args.data, args.work))

    def median(runs, key):
        return round(statistics.median(r[key] for r in runs), 2)

    bare = median(bares, "bare_read_csv_s")
    ingest_all = median(ingests, "ingest_total_s")
    ingest_ratings = median(ingests, "ingest_ratings_s")
    report = {
        "data": str(args.data),
        "ratings": bares[0]["rows"],
        "repeats": args.repeat,
        "bare_read_csv_s": bare,
        "ingest_ratings_s": ingest_ratings,
        "ingest_all_files_s": ingest_all,
        "ingest_ratio_ratings": round(ingest_ratings / bare, 2),
        "ingest_ratio_all_files": round(ingest_all / bare, 2),
        "views_and_splits_s": median(splits_runs, "views_and_splits_s"),
        "export_csr_s": median(splits_runs, "export_csr_s"),
        "views_splits_export_s": median(splits_runs, "views_splits_export_s"),
        "export_per_strategy_s": {
            "global": median(splits_runs, "export_global_s"),
            "per_user": median(splits_runs, "export_per_user_s"),
        },
        "views_splits_one_export_s": median(splits_runs, "splits_plus_one_export_s"),
        "all_runs_s": {
            "bare": [round(r["bare_read_csv_s"], 2) for r in bares],
            "ingest": [round(r["ingest_total_s"], 2) for r in ingests],
            "views_splits_export": [round(r["views_splits_export_s"], 2) for r in splits_runs],
        },
        "peak_rss_mb": {
            "bare": round(max(r["peak_rss_mb"] for r in bares)),
            "ingest": round(max(r["peak_rss_mb"] for r in ingests)),
            "splits_export": round(max(r["peak_rss_mb"] for r in splits_runs)),
        },
        "shapes": splits_runs[-1]["shapes"],
        "split_summary": splits_runs[-1]["split_summary"],
    }
    out = Path("benchmarks/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "warehouse.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
