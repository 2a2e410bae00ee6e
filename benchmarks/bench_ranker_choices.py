"""Booster choices for the two-stage ranker, compared on val only: k-fold cross-validation over
the val users (no test data is read).

    recsys run                                        # a warehouse with tuned models
    python benchmarks/bench_ranker_choices.py --warehouse warehouse/movielens.duckdb

As ``recommender.jobs.two_stage`` trains the ranker: the four sources fitted on train with their
tuned configurations, their top-100 for the val users as candidates, labelled by val, with
features as of train. Each variant is trained on k - 1 folds of the val users and scored
(NDCG@10 against all their val positives) on the fold left out; the figure is the mean over
folds. Variants: the objective (``lambdarank``, what the ranker uses; LightGBM's XE-NDCG
``rank_xendcg``; ``binary``), and ``lambdarank`` with two more source features (how many
sources proposed the movie, its best rank) and a regularised booster. Results: printed and
written to benchmarks/out/ranker_choices.json (keyed by warehouse).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402

#: rounds, leaves, learning rate: the setting ml-latest-small's ranker chooses.
SETTING = (300, 7, 0.03)
REGULARISED = {"min_data_in_leaf": 100, "feature_fraction": 0.7, "lambda_l2": 10.0}
VARIANTS = {
    "lambdarank (the ranker's)": ("lambdarank", False, {}),
    "rank_xendcg": ("rank_xendcg", False, {}),
    "binary": ("binary", False, {}),
    "lambdarank + source count and best rank, regularised": ("lambdarank", True, REGULARISED),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7, help="seed of the fold assignment")
    args = parser.parse_args()

    import lightgbm

    from recommender.config import Settings
    from recommender.evaluation import metrics as M
    from recommender.jobs import pipeline, two_stage
    from recommender.models.ranker import SEQUENCE_DEPTHS, SOURCES, RankerParams, candidate_pool, pair_inputs
    from recommender.sparse import recent_history, row_lengths
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect

    settings = Settings(warehouse=args.warehouse)
    con = connect(settings)  # read-write: the feature tables are temporary tables of this connection
    try:
        wb = pipeline.Workbench(con, SqlLibrary(settings.sql_dir), settings)
        data = wb.tuning_data
        sources = {name: wb.fit(name, wb.params_for(name), pipeline.FIT_PARTS["val"], data)[0] for name in SOURCES}
        history, exclude, truth = data.matrix("train"), data.excluded("train"), data.matrix("val")
        users = np.flatnonzero(row_lengths(truth) > 0)
        if len(users) > settings.ranker_train_users:
            chosen = np.random.default_rng(settings.seed).choice(users, settings.ranker_train_users, replace=False)
            users = np.sort(chosen)
        row, item, source_features = candidate_pool(sources, users, history, exclude, RankerParams().candidates)
        label = M.hit_matrix(item[:, None].astype(np.int64), truth, users[row])[:, 0].astype(np.float32)
        reader = two_stage._reader(wb, data, data.strategy, "train")
        recent = recent_history(history, data.time_matrix("train"), max(SEQUENCE_DEPTHS))
        x = pair_inputs(sources, users, row, item, source_features, reader, recent)
    finally:
        con.close()
    ranks = source_features[:, 1::2]
    extra = np.column_stack([(ranks <= RankerParams().candidates).sum(axis=1), ranks.min(axis=1)]).astype(np.float32)
    n_relevant = row_lengths(truth)[users]
    folds = np.random.default_rng(args.seed).integers(0, args.folds, len(users))
    rounds, leaves, rate = SETTING
    result = {"warehouse": str(args.warehouse), "val_users": int(len(users)), "positives": int(label.sum())}
    result["candidates"] = int(len(label))
    result["setting"] = {"rounds": rounds, "leaves": leaves, "learning_rate": rate}
    result["held_out_ndcg@10"] = {}
    for name, (objective, more_features, more_params) in VARIANTS.items():
        features = np.hstack([x, extra]) if more_features else x
        scores = []
        for fold in range(args.folds):
            held = folds == fold
            train = ~held[row]
            params = {"objective": objective, "num_leaves": leaves, "learning_rate": rate, "seed": settings.seed}
            params.update({"deterministic": True, "num_threads": 2, "verbose": -1, **more_params})
            if objective != "binary":
                params["lambdarank_truncation_level"] = 20
            groups = np.bincount(row[train])
            dataset = lightgbm.Dataset(features[train], label[train], group=groups[groups > 0])
            booster = lightgbm.train(params, dataset, num_boost_round=rounds)
            score = np.full(len(row), -np.inf)  # only the held-out users' candidates are ranked
            score[held[row]] = booster.predict(features[held[row]], num_threads=1)
            scores.append(two_stage._ranked_ndcg(score, row, item, users, truth, n_relevant))
        result["held_out_ndcg@10"][name] = {"mean": round(float(np.mean(scores)), 5), "folds": scores}
        print(f"{name:55s} {np.mean(scores):.4f}  folds {scores}", flush=True)
    save_keyed("ranker_choices", str(args.warehouse), result)


if __name__ == "__main__":
    main()
