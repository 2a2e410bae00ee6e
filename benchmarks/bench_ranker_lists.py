"""What precomputing the two-stage ranker's lists costs per user, stage by stage.

    python benchmarks/bench_ranker_lists.py --serving warehouse/serving                      # ml-latest-small
    python benchmarks/bench_ranker_lists.py --serving benchmarks/out/main_job/serving --users 8192   # 25M-shaped

Opens the active version of a serving folder (published by `recsys run`: its production
sources, the ranker's booster and the feature tables in its recs.duckdb) and makes the ranker's
top-20 for a slice of its users with the publication's own function (``explained_lists``: the four
sources' top-100, their features from the in-memory feature store, the booster on every core,
each entry's top feature by SHAP, the reasons), timing each part. The cost of a whole version is
this per-user figure times its users: the figure behind ``ranker_precompute_users``.

Then the request-time ranker as the server runs it (``Version.live.user_list``, one thread):
the CPU time of one uncached list, for distinct users with a genre filter, a page past the
precomputed 20 or neither, and for visitors' picks (``--requests`` lists in all).
Results: printed and written to benchmarks/out/ranker_lists.json (keyed by serving folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serving", type=Path, required=True, help="a serving folder (holding ACTIVE.json)")
    parser.add_argument("--users", type=int, default=8192, help="users ranked (the first ones of the version)")
    parser.add_argument("--requests", type=int, default=400, help="request-time lists timed")
    args = parser.parse_args()

    import duckdb

    from recommender.lists.explained import ListInputs, explained_lists
    from recommender.lists.reasons import REASON_WINDOW, Links
    from recommender.lists.served import popularity_fallback
    from recommender.models import load as load_model
    from recommender.models.ranker import SEQUENCE_DEPTHS, SOURCES, load_ranker
    from recommender.sparse import recent_history
    from recommender.version.format import LINKS_FILE
    from recommender.version.live import read_state
    from recommender.version.registry import read_pointer
    from recommender.warehouse.feature_arrays import FeatureArrays

    folder = read_pointer(args.serving).folder
    state = read_state(folder)
    user_ids, item_ids, times, rated, history = state.user_ids, state.item_ids, state.times, state.rated, state.history
    ranker = load_ranker(folder / "models" / "ranker.npz")
    if ranker is None:
        raise SystemExit(f"{folder} holds no ranker trained on this code's features")
    sources = {name: load_model(folder / "models" / f"{name}.npz") for name in SOURCES}
    con = duckdb.connect(str(folder / "recs.duckdb"), read_only=True)
    store = FeatureArrays.load(con)
    con.close()
    spent = {"features": 0.0, "booster": 0.0, "top features (SHAP)": 0.0}

    def features(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = store.pairs(user_ids[rows], item_ids[items])
        spent["features"] += time.perf_counter() - t
        return out

    class TimedBooster:  # the booster's two calls, timed apart
        def __init__(self, booster):
            self.booster = booster

        def predict(self, x, **kwargs):
            t = time.perf_counter()
            out = self.booster.predict(x, **kwargs)
            spent["top features (SHAP)" if kwargs.get("pred_contrib") else "booster"] += time.perf_counter() - t
            return out

        def feature_name(self):
            return self.booster.feature_name()

    ranker.attach(sources, TimedBooster(ranker.booster), features, recent_history(history, times, max(SEQUENCE_DEPTHS)))
    ranker.threads = os.cpu_count() or 1  # as the publication runs it
    users = np.arange(min(args.users, len(user_ids)))
    fallback = popularity_fallback(history)
    recent = recent_history(history[users], times[users], REASON_WINDOW)
    t = time.perf_counter()
    for model in sources.values():
        model.recommend(users, history, ranker.params.candidates, rated)
    candidates_s = time.perf_counter() - t  # measured apart: the call below makes them again
    t = time.perf_counter()
    explained_lists(ranker, users, 20, ListInputs(history, rated, recent, fallback, Links.load(folder / LINKS_FILE)))
    total = time.perf_counter() - t
    per_user_ms = total / len(users) * 1000
    result = {
        "serving": str(args.serving),
        "version_users": int(len(user_ids)),
        "users_ranked": int(len(users)),
        "threads": ranker.threads,
        "total_s": round(total, 2),
        "per_user_ms": round(per_user_ms, 3),
        "stages_s": {
            "candidates (four sources' top-100)": round(candidates_s, 2),
            **{k: round(v, 2) for k, v in spent.items()},
            "rest (pool, sort, top-up, reasons)": round(total - candidates_s - sum(spent.values()), 2),
        },
        "whole_version_s": round(per_user_ms * len(user_ids) / 1000, 1),
        "request_time": request_time_cpu(args.serving, args.requests),
    }
    print(json.dumps(result, indent=2))
    save_keyed("ranker_lists", str(args.serving), result)


def request_time_cpu(serving: Path, requests: int) -> dict:
    """CPU ms of one uncached request-time ranker list as the server makes it (one thread),
    by kind: distinct users with a genre filter, a page past the precomputed 20, the plain
    top 10, and visitors' five picks. Median and 99th percentile per kind."""
    from recommender.config import SQL_DIR
    from recommender.names import RANKER
    from recommender.sqlfiles import SqlLibrary
    from recommender.threads import pin_blas_for_process
    from recommender.version.live import Filter
    from recommender.version.reader import Version

    pin_blas_for_process()  # as the server does
    version = Version.open_active(serving, SqlLibrary(SQL_DIR))
    live = version.live
    genres = ["Comedy", "Drama", "Action", "Thriller", "Romance", "Horror", "Documentary", "Sci-Fi"]
    rng = np.random.default_rng(7)
    users = rng.choice(live.user_ids, size=min(requests, len(live.user_ids)), replace=False)
    movies = np.asarray(live.item_ids)
    kinds = {
        "genre filter": lambda i, u: live.user_list(RANKER, 10, user_id=u, query=Filter(genres=(genres[i % 8],))),
        "page past 20": lambda i, u: live.user_list(RANKER, 30 + 10 * (i % 3), user_id=u),
        "top 10": lambda i, u: live.user_list(RANKER, 10, user_id=u),
        "visitor (5 picks)": lambda i, u: live.user_list(
            RANKER, 10, liked=[int(m) for m in rng.choice(movies, 5, replace=False)]
        ),
    }
    out = {}
    try:
        for kind, make in kinds.items():
            spent = []
            for i, user in enumerate(users.tolist()):
                t = time.process_time()
                make(i, int(user))
                spent.append((time.process_time() - t) * 1000)
            median, p99 = np.percentile(spent, [50, 99])
            out[kind] = {"median_cpu_ms": round(float(median), 2), "p99_cpu_ms": round(float(p99), 2)}
    finally:
        version.close()
    return {"lists_per_kind": len(users), "threads": 1, **out}


if __name__ == "__main__":
    main()
