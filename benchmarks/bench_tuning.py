"""Tuning benchmark: the project's tuner against plain grids, on the same split, chosen on val.

    python benchmarks/bench_tuning.py                      # the bundled ml-latest-small
    python benchmarks/bench_tuning.py --data DIR           # any MovieLens folder

A fresh warehouse is built in a temporary folder (ingest, per-user split), then for ALS,
ItemKNN and EASE:
- the grid: every cell fitted on train and scored on val (NDCG@10); the best val cell is
  refitted on train+val and scored on test once;
- the tuner: `recsys tune`'s own search (pipeline.tune, its default trials), then its choice
  refitted on train+val and scored on test once.
Grids: ALS factors {32, 64, 128, 256} x regularisation {0.01, 0.1, 1, 10, 100} x alpha
{1, 10, 40, 100} at 15 iterations (80 cells); ItemKNN neighbours {20, 50, 100, 200, 500,
1000, every one} x scoring_neighbours {every one, 20, 50}; EASE lambda at 10 log-spaced
points from 10 to 5,000.

The tuner must reach at least 0.98x the grid's best val NDCG@10 (val: on a few hundred test
users a 2 % difference is noise). Results are printed as a Markdown table and written to
benchmarks/out/tuning.json under the data folder's name.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.datasets import bundled_dir  # noqa: E402
from recommender.jobs import pipeline  # noqa: E402
from recommender.sqlfiles import SqlLibrary  # noqa: E402
from recommender.warehouse import connect, migrate  # noqa: E402
from recommender.warehouse.ingest import ingest  # noqa: E402
from recommender.warehouse.splits import build_splits  # noqa: E402

GRIDS = {
    "als": [
        {"factors": f, "regularization": r, "alpha": a, "iterations": 15}
        for f, r, a in itertools.product((32, 64, 128, 256), (0.01, 0.1, 1.0, 10.0, 100.0), (1.0, 10.0, 40.0, 100.0))
    ],
    "itemknn": [
        {"neighbours": n, "scoring_neighbours": s}
        for n, s in itertools.product((20, 50, 100, 200, 500, 1000, None), (None, 20, 50))
    ],
    "ease": [{"lam": float(lam)} for lam in np.geomspace(10, 5000, 10).round(1)],
}
#: The tuner's best val NDCG@10 must reach this share of the grid's.
BAR = 0.98


def grid_search(wb: pipeline.Workbench, model: str) -> dict:
    started = time.perf_counter()
    metric, k = pipeline.OBJECTIVE
    scored = []
    for params in GRIDS[model]:
        fitted, _ = wb.fit(model, params, pipeline.FIT_PARTS["val"], keep=False)
        scored.append((wb.evaluate_on(fitted, wb.data, "val").value(metric, k), params))
    val, best = max(scored, key=lambda s: s[0])  # the first of equal scores
    search_s = time.perf_counter() - started
    test = wb.run("evaluate", model, best, "test").evaluation.value(metric, k)
    return {"val": val, "test": test, "params": best, "cells": len(scored), "search_s": search_s}


def tuner_search(wb: pipeline.Workbench, model: str) -> dict:
    started = time.perf_counter()
    metric, k = pipeline.OBJECTIVE
    chosen = pipeline.tune(wb, model)
    search_s = time.perf_counter() - started
    test = wb.run("evaluate", model, chosen.params, "test").evaluation.value(metric, k)
    return {"val": chosen.evaluation.value(metric, k), "test": test, "params": chosen.params, "search_s": search_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="MovieLens folder [the bundled ml-latest-small]")
    parser.add_argument("--models", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    parser.add_argument("--seed", type=int, default=42, help="the job's seed (model inits, the search) [42]")
    args = parser.parse_args()
    folder = args.data or bundled_dir()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(warehouse=Path(tmp) / "w.duckdb", split_strategy="per_user", ks=(10,), seed=args.seed)
        con = connect(settings)
        migrate(con, settings.sql_dir)
        sql = SqlLibrary(settings.sql_dir)
        ingest(con, sql, folder)
        build_splits(con, sql, settings)
        wb = pipeline.Workbench(con, sql, settings)
        results = {}
        for model in args.models:
            results[model] = {"grid": grid_search(wb, model), "tuner": tuner_search(wb, model)}
            grid, tuner = results[model]["grid"], results[model]["tuner"]
            results[model]["val_ratio"] = tuner["val"] / grid["val"]
            print(
                f"{model}: grid {grid['params']} val {grid['val']:.4f}; tuner {tuner['params']} val {tuner['val']:.4f}"
            )
        con.close()

    print(f"\nTuning on {folder.name} (per-user split, NDCG@10; time: the search on val)\n")
    print("| model | search | configurations | val | test | time | chosen |")
    print("|---|---|---:|---:|---:|---:|---|")
    for model, result in results.items():
        for name in ("grid", "tuner"):
            r = result[name]
            cells = r.get("cells", "")
            shown = {k: v for k, v in r["params"].items() if k in GRIDS[model][0]}
            print(
                f"| {model} | {name} | {cells} | {r['val']:.4f} | {r['test']:.4f} | {r['search_s']:.0f} s | {shown} |"
            )
    print()
    failed = []
    for model, result in results.items():
        ok = result["val_ratio"] >= BAR
        print(f"{model}: tuner val / grid val = {result['val_ratio']:.3f} ({'meets' if ok else 'misses'} {BAR}x)")
        failed += [] if ok else [model]
    out = save_keyed("tuning", f"{folder.name} seed {args.seed}", results)
    print(f"written to {out}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
