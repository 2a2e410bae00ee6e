"""ItemKNN vs LensKit's item-kNN (implicit feedback) on the same split, scored by our metric code.

LensKit needs torch, so it lives in a throwaway virtual environment of its own; this one
script runs in both, in three steps (``--dir`` holds what passes between them):

    python benchmarks/bench_itemknn_lenskit.py export  --warehouse W.duckdb --dir /tmp/knn/x
    /tmp/lkvenv/bin/python benchmarks/bench_itemknn_lenskit.py lenskit --dir /tmp/knn/x
    python benchmarks/bench_itemknn_lenskit.py compare --warehouse W.duckdb --dir /tmp/knn/x

``export`` writes the split's train/val/test positives in our index space (Parquet).
``lenskit`` fits ``lenskit.knn.ItemKNNScorer(feedback="implicit")`` on train (for val) and on
train+val (for test) and scores every catalogue item for each evaluated user (NaN where
LensKit has no neighbour), saved as dense arrays.
``compare`` evaluates our ItemKNN configurations and LensKit's saved scores through the same
``recommender.evaluation.evaluate`` (same history exclusion, popular top-up and NDCG), and
times fit + top-10 for every user. Writes benchmarks/out/itemknn_lenskit.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("train", "val", "test")
#: History parts of each evaluated part (as recommender.jobs.pipeline.FIT_PARTS).
FIT_PARTS = {"val": ("train",), "test": ("train", "val")}
#: Our configurations compared (neighbours: similarities kept per item at fit time, None: all;
#: scoring_neighbours: how many of a candidate's similarities to the history count, None: all).
#: The first one is the baseline of the paired differences.
CONFIGS = {
    "ours-default": {},
    "ours-k400": {"neighbours": 400},
    "ours-all": {"neighbours": None},
    "ours-lenskit-rule": {"neighbours": None, "scoring_neighbours": 20},
    "ours-all-score50": {"neighbours": None, "scoring_neighbours": 50},
    "ours-k400-score20": {"neighbours": 400, "scoring_neighbours": 20},
}


def export(args) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    wb = _workbench(args.warehouse)
    args.dir.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        table = wb.data.part(part)
        pq.write_table(
            pa.table({"user": table.column("user_idx"), "item": table.column("item_idx")}), args.dir / f"{part}.parquet"
        )
    (args.dir / "shape.json").write_text(json.dumps(list(wb.data.shape)))
    print(f"exported {wb.data.shape[0]} users x {wb.data.shape[1]} items to {args.dir}")


def lenskit(args) -> None:
    """Run inside a virtual environment with lenskit installed (not the project's)."""
    import pandas as pd
    from lenskit import __version__ as lenskit_version
    from lenskit.data import ItemList, RecQuery, from_interactions_df
    from lenskit.knn import ItemKNNScorer

    n_users, n_items = json.loads((args.dir / "shape.json").read_text())
    parts = {p: pd.read_parquet(args.dir / f"{p}.parquet") for p in PARTS}
    all_items = ItemList(item_ids=np.arange(n_items))
    meta = {"lenskit": lenskit_version, "max_nbrs": args.max_nbrs, "save_nbrs": args.save_nbrs}
    for part, history_parts in FIT_PARTS.items():
        history = pd.concat([parts[p] for p in history_parts], ignore_index=True)
        data = from_interactions_df(history, user_col="user", item_col="item", items=np.arange(n_items))
        scorer = ItemKNNScorer(max_nbrs=args.max_nbrs, save_nbrs=args.save_nbrs, feedback="implicit")
        started = time.perf_counter()
        scorer.train(data)
        fit_s = time.perf_counter() - started
        users = np.unique(parts[part]["user"].to_numpy())
        items_of = history.groupby("user")["item"].apply(np.asarray)
        scores = np.full((len(users), n_items), np.nan, dtype=np.float32)
        started = time.perf_counter()
        for r, u in enumerate(users):
            query = RecQuery(user_id=int(u), history_items=ItemList(item_ids=items_of.get(u, np.array([], np.int64))))
            out = scorer(query, all_items)
            scores[r, out.ids()] = out.scores()
        score_s = time.perf_counter() - started
        np.savez(args.dir / f"lenskit-{part}.npz", users=users, scores=scores)
        meta[part] = {
            "fit_s": fit_s,
            "score_all_items_s": score_s,
            "users": len(users),
            "similarities": len(scorer.sim_matrix.values),
        }
        print(f"lenskit {part}: fit {fit_s:.2f}s, scored {len(users)} users in {score_s:.2f}s")
    (args.dir / "lenskit.json").write_text(json.dumps(meta, indent=2))


def compare(args) -> None:
    sys.path.insert(0, str(ROOT))
    from recommender.evaluation.evaluate import evaluate, item_space
    from recommender.models import create

    wb = _workbench(args.warehouse)
    data = wb.data
    exclude_rated = args.exclude == "rated"
    results: dict = {"shape": list(data.shape), "exclude": args.exclude, "repeat": args.repeat, "configs": {}}
    chosen = args.configs.split(",") if args.configs else list(CONFIGS)
    runs = [(name, lambda params=CONFIGS[name]: create("itemknn", params)) for name in chosen]
    if (args.dir / "lenskit.json").exists():
        results["lenskit"] = json.loads((args.dir / "lenskit.json").read_text())
        runs.append(("lenskit", None))
    baseline: dict[str, np.ndarray] = {}
    for name, factory in runs:
        row: dict = {"params": CONFIGS.get(name)}
        for part, history_parts in FIT_PARTS.items():
            history = data.matrix(*history_parts)
            items = item_space(history, wb.item_genres)
            if factory is None:
                saved = np.load(args.dir / f"lenskit-{part}.npz")
                model, fit_s = _FixedScores(saved["users"], saved["scores"]), float("nan")
            else:
                started = time.perf_counter()
                model = factory().fit(history)
                fit_s = time.perf_counter() - started
            ev = evaluate(model, data, part, history_parts, (10,), items, exclude_rated=exclude_rated)
            ndcg = ev.per_user[("ndcg", 10)]
            baseline.setdefault(part, ndcg)  # the first configuration (ours-default)
            diff = ndcg - baseline[part]  # paired: the same users in the same order
            row[part] = {
                "ndcg@10": float(ndcg.mean()),
                "ndcg@10_se": float(ndcg.std(ddof=1) / np.sqrt(len(ndcg))),
                "vs_first": float(diff.mean()),
                "vs_first_se": float(diff.std(ddof=1) / np.sqrt(len(diff))),
                "users": ev.n_users,
                "fit_s": fit_s,
            }
            if factory is not None and name == "ours-lenskit-rule" and (args.dir / f"lenskit-{part}.npz").exists():
                row[part]["max_abs_score_diff_vs_lenskit"] = _score_gap(
                    model, history, args.dir / f"lenskit-{part}.npz"
                )
        if factory is not None:
            # fit on train + top-10 for every user, exclusions as evaluated (what precompute does per model)
            everyone, history = np.arange(data.shape[0]), data.matrix("train")
            exclude = data.excluded("train") if exclude_rated else history
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                factory().fit(history).recommend(everyone, history, 10, exclude)
                times.append(time.perf_counter() - started)
            row["fit_recommend_all_users_s"] = min(times)
        results["configs"][name] = row
        print(
            f"{name:18s} "
            + "  ".join(
                f"{part} {row[part]['ndcg@10']:.4f} ({row[part]['vs_first']:+.4f} ±{row[part]['vs_first_se']:.4f})"
                for part in FIT_PARTS
            )
            + f"  fit+top-10 all users {row.get('fit_recommend_all_users_s', float('nan')):.2f}s"
        )
    out = ROOT / "benchmarks/out/itemknn_lenskit.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"NDCG@10 per part (paired difference vs {runs[0][0]} ± standard error); wrote {out}")


def _score_gap(model, history, saved_path: Path) -> float:
    """Largest |our score - LensKit's| over every item outside the history of LensKit's users
    (an item only one of the two scores counts its score as the gap)."""
    saved = np.load(saved_path)
    users, theirs = saved["users"], np.nan_to_num(saved["scores"], nan=0.0)
    top = model.recommend(users, history, history.shape[1])
    ours = np.zeros_like(theirs)
    rows = np.broadcast_to(np.arange(len(users))[:, None], top.items.shape)
    ok = top.items >= 0
    ours[rows[ok], top.items[ok]] = top.scores[ok]
    outside = history[users].toarray() == 0
    return float(np.abs(ours - theirs)[outside].max())


def _workbench(warehouse: Path):
    """The per-user split and the item genres (what ``pipeline.Workbench`` loads)."""
    sys.path.insert(0, str(ROOT))
    from types import SimpleNamespace

    from recommender.config import Settings
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect
    from recommender.warehouse.export import load_item_genres, load_split

    settings = Settings(warehouse=warehouse, split_strategy="per_user", ks=(10,))
    con = connect(settings, read_only=True)
    sql = SqlLibrary(settings.sql_dir)
    data = load_split(con, sql, settings.split_strategy)
    genres, _ = load_item_genres(con, sql, data.item_ids)
    con.close()
    return SimpleNamespace(data=data, item_genres=genres)


def _FixedScores(users: np.ndarray, scores: np.ndarray):
    """A Recommender serving saved scores (rows: ``users``; NaN: not scored)."""
    from recommender.models.base import Params as BaseParams
    from recommender.models.base import Recommender

    class FixedScores(Recommender):
        name = "fixed"
        Params = BaseParams
        candidates_filter = "nothing"

        def fit(self, user_items, *, times=None):
            return self

        def _candidates(self, batch, history, n, exclude):
            rows = np.searchsorted(users, batch)
            if not (rows < len(users)).all() or not (users[np.minimum(rows, len(users) - 1)] == batch).all():
                raise ValueError("a user without saved scores")
            s = np.nan_to_num(scores[rows], nan=-np.inf)
            top = np.argsort(-s, axis=1, kind="stable")[:, :n]
            return top, np.take_along_axis(s, top, axis=1)

        def _arrays(self):
            return {}

        def _restore(self, arrays):
            pass

    model = FixedScores.__new__(FixedScores)
    model.params, model.seed, model.n_items = BaseParams(), 0, scores.shape[1]
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["export", "lenskit", "compare"])
    parser.add_argument("--warehouse", type=Path, default=Path("/tmp/knn/wh.duckdb"))
    parser.add_argument("--dir", type=Path, default=Path("/tmp/knn/lenskit"))
    parser.add_argument("--max-nbrs", type=int, default=20, help="LensKit's max_nbrs [20, its default]")
    parser.add_argument("--save-nbrs", type=int, default=None, help="LensKit's save_nbrs [None: all, its default]")
    parser.add_argument("--exclude", choices=["rated", "positives"], default="rated", help="as --eval-exclude [rated]")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs, the fastest kept [3]")
    parser.add_argument("--configs", help=f"comma-separated subset of {', '.join(CONFIGS)} [all]")
    args = parser.parse_args()
    {"export": export, "lenskit": lenskit, "compare": compare}[args.step](args)


if __name__ == "__main__":
    main()
