"""Retrain benchmark: the production refit + precompute against the bare `implicit` calls,
and `recsys retrain` end to end, stage by stage.

    python benchmarks/generate_movielens.py --out data/synthetic/ml-25m-synth
    python benchmarks/bench_retrain.py --data data/synthetic/ml-25m-synth

Each phase runs in its own process, which reports its own peak memory (max RSS):
1. ingest: `recsys ingest DATA --split per-user` into benchmarks/out/retrain/ (skipped when
   that warehouse already holds the data);
2. retrain: `recsys retrain --split per-user` (no tuning: the stored configurations, the
   defaults on a fresh warehouse), its stage lines kept;
3. precompute: the bare library calls that make the same production fits and lists (ALS and
   ItemKNN fitted on every positive; ALS top-20 and top-100, ItemKNN top-20 for every user;
   a popularity argsort), then `precompute_and_publish` (production refit, lists, reasons,
   writing, checks, publication) in the same process.
Results: printed and written to benchmarks/out/retrain.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _recsys(argv: list[str]) -> tuple[int, str]:
    """Run a recsys command in this process; returns (exit code, what it said on stderr)."""
    from recommender.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def phase_ingest(warehouse: Path, data: Path) -> dict:
    started = time.perf_counter()
    code, log = _recsys(["migrate", "--warehouse", str(warehouse)])
    assert code == 0, log
    code, log = _recsys(["ingest", str(data), "--split", "per-user", "--warehouse", str(warehouse)])
    assert code == 0, log
    return {"seconds": time.perf_counter() - started, "peak_gb": _peak_gb()}


def phase_retrain(warehouse: Path) -> dict:
    started = time.perf_counter()
    code, log = _recsys(["retrain", "--split", "per-user", "--warehouse", str(warehouse)])
    assert code == 0, log
    stages = re.search(r"stage times: (.*)", log)
    return {
        "seconds": time.perf_counter() - started,
        "peak_gb": _peak_gb(),
        "stages": dict((name, float(s)) for name, s in re.findall(r"(\w+) ([\d.]+)s", stages.group(1))),
        "log": log.splitlines()[-40:],
    }


def phase_precompute(warehouse: Path, strategy: str = "per_user") -> dict:
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender
    from threadpoolctl import threadpool_limits

    from recommender.config import Settings
    from recommender.jobs import pipeline
    from recommender.jobs.publish import precompute_and_publish
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect, migrate
    from recommender.warehouse.export import load_production

    settings = Settings(warehouse=warehouse, split_strategy=strategy)
    con = connect(settings)
    migrate(con, settings.sql_dir)
    sql = SqlLibrary(settings.sql_dir)
    started = time.perf_counter()
    finals = pipeline.final_configs(con, sql, settings, print)  # evaluates what has no test run (not timed)
    prepare_s = time.perf_counter() - started
    data = load_production(con, sql, settings.rating_threshold)
    history = data.matrix("train")
    users = np.arange(history.shape[0])
    als_params, knn_params = finals["als"][1], finals["itemknn"][1]
    bare = {}
    with threadpool_limits(1, "blas"):  # implicit's advice, for its fit and top-k alike
        t = time.perf_counter()
        als = AlternatingLeastSquares(
            factors=als_params.get("factors", 64),
            regularization=als_params.get("regularization", 0.05),
            alpha=als_params.get("alpha", 10.0),
            iterations=als_params.get("iterations", 15),
            random_state=settings.seed,
        )
        als.fit(history, show_progress=False)
        bare["als_fit"] = time.perf_counter() - t
        t = time.perf_counter()
        knn = CosineRecommender(K=knn_params.get("neighbours", 100))
        knn.fit(history, show_progress=False)
        bare["itemknn_fit"] = time.perf_counter() - t
        t = time.perf_counter()
        als.recommend(users, history, N=20)
        bare["als_top20"] = time.perf_counter() - t
        t = time.perf_counter()
        als.recommend(users, history, N=100)
        bare["als_top100"] = time.perf_counter() - t
        t = time.perf_counter()
        knn.recommend(users, history, N=20)
        bare["itemknn_top20"] = time.perf_counter() - t
    t = time.perf_counter()
    np.argsort(-np.asarray(history.sum(axis=0)).ravel())
    bare["popular"] = time.perf_counter() - t
    del als, knn, history, data
    t = time.perf_counter()
    published = precompute_and_publish(con, sql, settings, say=print)
    ours = time.perf_counter() - t
    con.close()
    return {
        "prepare_s": prepare_s,
        "bare_s": bare,
        "bare_total_s": sum(bare.values()),
        "precompute_s": ours,
        "ratio": ours / sum(bare.values()),
        "rows": published.rows,
        "version": published.version,
        "users": int(len(users)),
        "peak_gb": _peak_gb(),
        "serving_dir": str(settings.serving_dir),
        "artifacts_root": str(settings.artifacts_root),
    }


def _child(phase: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/synthetic/ml-25m-synth"))
    parser.add_argument("--warehouse", type=Path, default=Path("benchmarks/out/retrain/movielens.duckdb"))
    parser.add_argument("--phase", choices=["ingest", "retrain", "precompute"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    warehouse = args.warehouse.resolve()
    if args.phase:
        result = {
            "ingest": lambda: phase_ingest(warehouse, args.data.resolve()),
            "retrain": lambda: phase_retrain(warehouse),
            "precompute": lambda: phase_precompute(warehouse),
        }[args.phase]()
        print(json.dumps(result))
        return
    results = {
        "ingest": _child("ingest", "--data", str(args.data), "--warehouse", str(warehouse)),
        "retrain": _child("retrain", "--warehouse", str(warehouse)),
        "precompute": _child("precompute", "--warehouse", str(warehouse)),
    }
    out = ROOT / "benchmarks" / "out" / "retrain.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    r, p = results["retrain"], results["precompute"]
    print(f"retrain end to end: {r['seconds']:.1f}s, peak {r['peak_gb']:.2f} GB; stages: {r['stages']}")
    print(
        f"production refit + precompute: {p['precompute_s']:.1f}s vs bare {p['bare_total_s']:.1f}s "
        f"({p['ratio']:.2f}x; {p['bare_s']}), peak {p['peak_gb']:.2f} GB"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
