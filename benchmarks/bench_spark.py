"""Spark MLlib's ALS (local mode) against `implicit`'s on the same matrix and configuration.

    python benchmarks/bench_spark.py --warehouse warehouse/movielens.duckdb             # ml-latest-small
    python benchmarks/bench_spark.py --warehouse benchmarks/out/main_job/movielens.duckdb  # 25M-shaped

Both fit every positive of the warehouse (the production matrix) with 64 factors and 15
iterations, `implicit` in this process (BLAS pinned to one thread, as everywhere), Spark in
local mode on every core (its JVM started inside the timing, as a `recsys` command starts it).
Results: printed and written to benchmarks/out/spark.json (keyed by the warehouse's name).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--spark-master", default="local[*]")
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args()

    from recommender.config import Settings
    from recommender.models import create
    from recommender.models.als_engines import ALSEngine
    from recommender.warehouse import connect
    from recommender.warehouse.connection import SqlLibrary
    from recommender.warehouse.export import load_production

    settings = Settings(warehouse=args.warehouse)
    con = connect(settings, read_only=True)
    try:
        data = load_production(con, SqlLibrary(settings.sql_dir), settings.rating_threshold)
    finally:
        con.close()
    matrix = data.matrix("train")
    result = {"warehouse": str(args.warehouse), "users": matrix.shape[0], "items": matrix.shape[1]}
    result["positives"] = int(matrix.nnz)
    result["config"] = CONFIG
    started = time.perf_counter()
    create("als", CONFIG, seed=42).fit(matrix)
    result["implicit_fit_s"] = round(time.perf_counter() - started, 1)
    engine = ALSEngine("spark", spark_master=args.spark_master, spark_driver_memory=args.driver_memory)
    started = time.perf_counter()
    create("als", CONFIG, seed=42, engine=engine).fit(matrix)
    result["spark_fit_s"] = round(time.perf_counter() - started, 1)
    result["spark_master"] = args.spark_master
    out = Path("benchmarks/out/spark.json")
    report = json.loads(out.read_text()) if out.exists() else {}
    report[args.warehouse.parent.name] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
