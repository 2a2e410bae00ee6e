"""ALS engines on the same matrix and configuration: `implicit` on the CPU against Spark
MLlib (local mode) or `implicit`'s CUDA ALS.

    python benchmarks/bench_als_engines.py --warehouse warehouse/movielens.duckdb   # Spark, ml-latest-small
    python benchmarks/bench_als_engines.py --warehouse benchmarks/out/main_job/movielens.duckdb   # 25M-shaped
    python benchmarks/bench_als_engines.py --engine gpu --warehouse benchmarks/out/main_job/movielens.duckdb

Each fits every positive of the warehouse (the production matrix) with 64 factors and 15
iterations: `implicit` in this process (BLAS pinned to one thread, as everywhere), then the
other engine: Spark in local mode on every core (its JVM started inside the timing, as a
`recsys` command starts it), or the GPU (the factors copied back to the CPU inside the timing).
Results: printed and written to benchmarks/out/als_engines.json (keyed by engine and warehouse).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402

CONFIG = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--engine", choices=["spark", "gpu"], default="spark")
    parser.add_argument("--spark-master", default="local[*]")
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args()

    from recommender.config import Settings
    from recommender.models import create
    from recommender.models.als_engines import ALSEngine
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect
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
    if args.engine == "gpu":
        engine = ALSEngine(device="gpu")
    else:
        engine = ALSEngine("spark", spark_master=args.spark_master, spark_driver_memory=args.driver_memory)
        result["spark_master"] = args.spark_master
    engine.check()
    started = time.perf_counter()
    create("als", CONFIG, seed=42, engine=engine).fit(matrix)
    result[f"{args.engine}_fit_s"] = round(time.perf_counter() - started, 1)
    save_keyed("als_engines", f"{args.engine}:{args.warehouse.parent.name}", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
