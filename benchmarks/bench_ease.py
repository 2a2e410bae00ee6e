"""EASE's item cap: what modelling only the `max_items` most popular items costs in test
NDCG@10 on ml-latest-small (where no cap is needed: 5.3k items have a train positive), and
the fit time and size of the weights per cap.

    python benchmarks/bench_ease.py            # the bundled data; --data DIR for another folder

Builds a warehouse under benchmarks/out/ease/ (per-user split), tunes EASE's lambda on val
once without a cap, then refits on train+val at each cap and scores test with the
evaluation's own code. Results: printed and written to benchmarks/out/ease.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAPS = (None, 4000, 2000, 1000, 500)


def main() -> None:
    from recommender.cli import main as recsys
    from recommender.config import Settings
    from recommender.jobs import pipeline
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse.connection import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a MovieLens folder [the bundled ml-latest-small]")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "out" / "ease"
    shutil.rmtree(out, ignore_errors=True)
    settings = Settings(warehouse=out / "movielens.duckdb")
    code = recsys(["ingest", *([str(args.data)] if args.data else []), "--warehouse", str(settings.warehouse), "-q"])
    assert code == 0
    con = connect(settings)
    wb = pipeline.Workbench(con, SqlLibrary(settings.sql_dir), settings)
    best = pipeline.tune(wb, "ease")
    lam = best.params["lam"]
    rows = []
    for cap in CAPS:
        params = {"lam": lam, "max_items": cap}
        started = time.perf_counter()
        result = wb.run("evaluate", "ease", params, "test")
        rows.append(
            {
                "max_items": cap,
                "modelled_items": int(result.fitted.n_modelled),
                "test_ndcg@10": round(result.evaluation.value("ndcg", 10), 4),
                "seconds": round(time.perf_counter() - started, 2),
                "weights_mb": round(result.fitted.weights_.nbytes / 1e6, 1),
            }
        )
        print(rows[-1], flush=True)
    con.close()
    result = {"lambda": lam, "items_with_a_positive": int(wb.data.shape[1]), "caps": rows}
    (ROOT / "benchmarks" / "out" / "ease.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
