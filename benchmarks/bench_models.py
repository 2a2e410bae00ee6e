"""Models benchmark: our wrappers vs bare `implicit` calls on the same matrices, same run.

    python benchmarks/bench_warehouse.py --data data/synthetic/ml-25m-synth   # builds the warehouse
    python benchmarks/bench_models.py                                          # per-user split

Measures (ALS fit: the minimum of --repeat alternating runs each, the usual estimator when
the machine adds noise but never speed; every run is kept in the JSON):
- ALS fit (64 factors, 15 iterations): ours (recommender.models.ALS) vs implicit directly;
- evaluation of every test user at K=10: recommend + all metrics;
- "train all + evaluate": the four models fitted on train+val and scored on test through the
  pipeline (including run logging), vs the sum of the bare library calls (fit + top-10);
- peak memory (max RSS of this process).
Results are printed and written to benchmarks/out/models.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from recommender.config import Settings  # noqa: E402
from recommender.evaluation.evaluate import evaluate, item_space  # noqa: E402
from recommender.jobs import pipeline  # noqa: E402
from recommender.models import ALS  # noqa: E402
from recommender.names import MODEL_NAMES  # noqa: E402
from recommender.sparse import row_lengths  # noqa: E402
from recommender.sqlfiles import SqlLibrary  # noqa: E402
from recommender.warehouse import connect, migrate  # noqa: E402

ALS_PARAMS = {"factors": 64, "iterations": 15, "regularization": 0.05, "alpha": 10.0}


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bare_als_fit(matrix, seed):
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=64, iterations=15, regularization=0.05, alpha=10.0, random_state=seed)
        model.fit(matrix, show_progress=False)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=Path("benchmarks/out/warehouse/movielens.duckdb"))
    parser.add_argument("--strategy", default="per_user", choices=["per_user", "global"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    settings = Settings(
        warehouse=args.warehouse, split_strategy=args.strategy, ks=(10,), artifacts_dir=Path("benchmarks/out/artifacts")
    )
    con = connect(settings)
    migrate(con, settings.sql_dir)  # the benchmark warehouse may predate the run-log migrations
    sql = SqlLibrary(settings.sql_dir)
    wb, load_s = timed(lambda: pipeline.Workbench(con, sql, settings, say=print))
    data = wb.data
    train = data.matrix("train", "val")
    test = data.matrix("test")
    users = np.flatnonzero(row_lengths(test) > 0)
    print(
        f"split loaded in {load_s:.1f}s: {train.shape[0]:,} users x {train.shape[1]:,} items, "
        f"{train.nnz:,} train+val interactions, {len(users):,} test users"
    )

    # 1. ALS fit: ours vs bare, alternating
    ours_fit, bare_fit = [], []
    for _ in range(args.repeat):
        _, t = timed(lambda: bare_als_fit(train, settings.seed))
        bare_fit.append(t)
        ours, t = timed(lambda: ALS(ALS_PARAMS, seed=settings.seed).fit(train))
        ours_fit.append(t)
        print(f"  ALS fit: bare {bare_fit[-1]:.1f}s, ours {ours_fit[-1]:.1f}s")

    # 2. Evaluation of all test users at K=10 (recommend + every metric)
    items = item_space(train, wb.item_genres)
    evaluation, eval_s = timed(lambda: evaluate(ours, data, "test", ("train", "val"), (10,), items))
    print(
        f"  evaluation of {evaluation.n_users:,} users: {eval_s:.1f}s "
        f"(recommend {evaluation.timings['recommend_s']:.1f}s, metrics {evaluation.timings['metrics_s']:.1f}s)"
    )

    # 3. Bare library calls for all four models: fit + top-10 for the test users
    bare = {}
    bare_model, bare["als_fit"] = timed(lambda: bare_als_fit(train, settings.seed))
    with threadpool_limits(1, "blas"):  # implicit's advice, for its top-k too (faster than unpinned)
        _, bare["als_top10"] = timed(lambda: bare_model.recommend(users, train[users], N=10))
        _, bare["als_top100_for_diverse"] = timed(lambda: bare_model.recommend(users, train[users], N=100))
    knn = CosineRecommender(K=100)
    _, bare["itemknn_fit"] = timed(lambda: knn.fit(train, show_progress=False))
    _, bare["itemknn_top10"] = timed(lambda: knn.recommend(users, train[users], N=10))
    _, bare["popular"] = timed(lambda: np.argsort(-np.asarray(train.sum(axis=0)).ravel()))
    bare_total = sum(bare.values())
    print("  bare calls:", {k: round(v, 1) for k, v in bare.items()}, f"total {bare_total:.1f}s")

    # 4. Ours: the pipeline's train-all + evaluate (fit on train+val, score test, log every run)
    wb._fitted.clear()
    ours_runs = {}
    started = time.perf_counter()
    for model in MODEL_NAMES:
        params = ALS_PARAMS if model == "als" else ({**ALS_PARAMS, "lam": 0.3} if model == "diverse" else {})
        result, ours_runs[model] = timed(lambda m=model, p=params: wb.run("evaluate", m, p, "test", save=True))
    ours_total = time.perf_counter() - started

    report = {
        "warehouse": str(args.warehouse),
        "strategy": args.strategy,
        "matrix": {
            "users": train.shape[0],
            "items": train.shape[1],
            "nnz": int(train.nnz),
            "test_users": int(len(users)),
        },
        "split_load_s": round(load_s, 2),
        "als_fit_bare_s": round(min(bare_fit), 2),
        "als_fit_ours_s": round(min(ours_fit), 2),
        "als_fit_ratio": round(min(ours_fit) / min(bare_fit), 3),
        "als_fit_all_runs_s": {"bare": [round(t, 1) for t in bare_fit], "ours": [round(t, 1) for t in ours_fit]},
        "evaluation_all_test_users_s": round(eval_s, 2),
        "evaluation_recommend_s": round(evaluation.timings["recommend_s"], 2),
        "evaluation_metrics_s": round(evaluation.timings["metrics_s"], 2),
        "bare_calls_s": {k: round(v, 2) for k, v in bare.items()},
        "bare_total_s": round(bare_total, 2),
        "ours_train_all_evaluate_s": round(ours_total, 2),
        "ours_per_model_s": {k: round(v, 2) for k, v in ours_runs.items()},
        "train_all_evaluate_ratio": round(ours_total / bare_total, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    con.close()
    out = Path("benchmarks/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "models.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
