"""The two-stage ranker's job: candidates and labels from **val**, one evaluation on **test**.

1. The sources (recommender.models.ranker.SOURCES, each with its tuned configuration) are
   fitted on train; their top-N for every user with val positives are the candidates, labelled
   by val; features as of train's history. LightGBM ``lambdarank`` learns from them.
2. The sources are refitted on train+val; the test users' candidates get features as of
   train+val's history; the trained booster ranks them, and test is scored once, by the
   evaluation every model goes through. Nothing of test reaches a feature, label or candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from recommender.evaluation import metrics as M
from recommender.evaluation.evaluate import scored_users
from recommender.jobs.pipeline import FIT_PARTS, Fit, RunResult, Workbench
from recommender.models.ranker import (
    RANKER_FEATURES,
    SEQUENCE_DEPTHS,
    SOURCES,
    RankerParams,
    TwoStageRanker,
    candidate_pool,
    pair_inputs,
)
from recommender.names import RANKER
from recommender.sparse import recent_history, row_lengths
from recommender.warehouse.connection import insert_arrow
from recommender.warehouse.export import load_item_years, load_split
from recommender.warehouse.features import FEATURE_NAMES, materialize_features, pair_features, visitor_features

#: The booster settings tried, each with its rounds chosen by cross-validation over the val
#: users (the settings' ranker_cv_folds; every ROUND_STEP rounds up to its "rounds"): the setting and
#: rounds with the best NDCG@10 of the out-of-fold lists, over every val user, win. A third
#: setting, 200 rounds of 31 leaves, never won and was the dearest to train.
BOOSTER_GRID = (
    {"rounds": 200, "leaves": 15, "learning_rate": 0.05},
    {"rounds": 200, "leaves": 7, "learning_rate": 0.045},
)
ROUND_STEP = 25
#: A cross-validation booster stops once its held-out NDCG@10 has not improved for this many
#: steps of ROUND_STEP rounds: the rounds after that are never its best (on the bundled data
#: the 15-leaf setting peaks at 25 rounds and the 7-leaf one at 75-100).
PATIENCE = 2
#: Features the booster sees: each source's score and rank, then the feature store's.
ALL_FEATURES = RANKER_FEATURES


def train_and_evaluate(wb: Workbench, params: dict | None = None) -> tuple[RunResult, dict]:
    """Train the ranker on val, evaluate it on test (a logged ``evaluate`` run of model
    ``ranker``); returns the run and a summary (candidate recall per source, importances)."""
    import lightgbm

    p = RankerParams.from_dict(params)
    started = time.perf_counter()
    strategy = wb.data.strategy
    data = wb.tuning_data  # at scale, the ranker learns from the tuning sample's val
    sources = {name: wb.fit(name, wb.params_for(name), FIT_PARTS["val"], data)[0] for name in SOURCES}
    history, exclude, truth = data.matrix("train"), data.excluded("train"), data.matrix("val")
    users = np.flatnonzero(row_lengths(truth) > 0)
    most = wb.settings.ranker_train_users
    if len(users) > most:  # the booster's cost grows with its rows: a seeded sample of users
        users = np.sort(np.random.default_rng(wb.settings.seed).choice(users, size=most, replace=False))
    sources_s = time.perf_counter() - started
    row, item, source_features = candidate_pool(sources, users, history, exclude, p.candidates)
    candidates_s = time.perf_counter() - started - sources_s
    label = M.hit_matrix(item[:, None].astype(np.int64), truth, users[row])[:, 0].astype(np.float32)
    recall = _candidate_recall(sources, users, history, exclude, truth, p.candidates, row, item)
    mark = time.perf_counter()
    recent = recent_history(history, data.time_matrix("train"), max(SEQUENCE_DEPTHS))
    x = pair_inputs(sources, users, row, item, source_features, _reader(wb, data, strategy, "train"), recent)
    # more labels: the val windows of earlier cut-offs (the next folds back), each with its
    # sources fitted on its own train and features as of its own train; all of them lie before
    # this fold's val, so nothing of what the booster is checked or scored on reaches them
    earlier = [_earlier_window(wb, fold, p.candidates) for fold in _earlier_folds(wb)]
    features_s = time.perf_counter() - mark
    mark = time.perf_counter()
    # the booster's setting and rounds are chosen by cross-validation over this window's val
    # users (never on test): each fold of users is ranked by boosters trained without it (and
    # with every earlier window), then the final booster is trained on every user
    cv_folds = wb.settings.ranker_cv_folds
    fold_of = np.random.default_rng(wb.settings.seed).permutation(len(users)) % cv_folds
    n_relevant = row_lengths(truth)[users]
    as_visitors = _as_visitors(wb, x, users, row, item, history, data.excluded("train"))
    earlier_x, earlier_label, earlier_row, offset = [], [], [], len(users)
    for e_x, e_label, e_row, e_users in earlier:  # every user of every window is one query
        earlier_x.append(e_x)
        earlier_label.append(e_label)
        earlier_row.append(e_row + offset)
        offset += e_users
    out_of_fold: dict[tuple[str, int], np.ndarray] = {}
    trials: dict[tuple[int, int], Any] = {}  # (setting, fold) -> lightgbm.Booster
    reached = {c: int(config["rounds"]) for c, config in enumerate(BOOSTER_GRID)}  # by every fold
    for f in range(cv_folds):
        fits = fold_of[row] != f
        fit_x = np.vstack([x[fits], *earlier_x])
        fit_label, fit_row = np.concatenate([label[fits], *earlier_label]), np.concatenate([row[fits], *earlier_row])

        def held_ndcg(held_score: np.ndarray, held: np.ndarray = ~fits) -> float:
            score = np.full(len(row), -np.inf)
            score[held] = held_score
            return _ranked_ndcg(score, row, item, users, truth, n_relevant)

        for c, config in enumerate(BOOSTER_GRID):
            steps = _HeldOutSteps(x[~fits], held_ndcg, lightgbm, wb.settings.job_threads)
            trials[c, f] = _train(lightgbm, fit_x, fit_label, fit_row, {**p.to_dict(), **config}, wb, steps)
            reached[c] = min(reached[c], max(steps.scores))
            for rounds, score in steps.scores.items():
                out_of_fold.setdefault((_name({**config, "rounds": rounds}), c), np.zeros(len(row)))[~fits] = score
    # a setting's rounds count when every fold trained that far
    out_of_fold = {key: score for key, score in out_of_fold.items() if _rounds(key[0]) <= reached[key[1]]}
    checks = {key[0]: _ranked_ndcg(score, row, item, users, truth, n_relevant) for key, score in out_of_fold.items()}
    best_name, best_config = max(out_of_fold, key=lambda key: checks[key[0]])  # ties: the first tried
    rounds = _rounds(best_name)
    chosen = {**BOOSTER_GRID[best_config], "rounds": rounds}
    # the evidence for the served default: the chosen booster's out-of-fold lists against each
    # source's own lists, on every val user; and the same with the users seen as visitors (their
    # feature-store columns from their positives alone, as a request's picks give them)
    sources_checked = _source_ndcg(source_features, row, item, users, truth, n_relevant)
    visitor_scores = np.zeros(len(row))
    for f in range(cv_folds):
        held = fold_of[row] == f
        visitor_scores[held] = trials[best_config, f].predict(
            as_visitors[held], num_iteration=rounds, num_threads=wb.settings.job_threads
        )
    visitor_check = _ranked_ndcg(visitor_scores, row, item, users, truth, n_relevant)
    p = RankerParams.from_dict({**p.to_dict(), **chosen})
    all_x, all_label = np.vstack([x, *earlier_x]), np.concatenate([label, *earlier_label])
    booster = _train(lightgbm, all_x, all_label, np.concatenate([row, *earlier_row]), p.to_dict(), wb)
    training_s = time.perf_counter() - mark
    fit_s = time.perf_counter() - started
    wb.say(
        f"  ranker trained in {fit_s:.1f}s: sources {sources_s:.1f}s, candidates {candidates_s:.1f}s, "
        f"features {features_s:.1f}s, booster ({cv_folds} folds x {len(BOOSTER_GRID)} settings + the final one) "
        f"{training_s:.1f}s"
    )
    test_sources = {name: wb.fit(name, wb.params_for(name), FIT_PARTS["test"])[0] for name in SOURCES}
    reader = _reader(wb, wb.data, strategy, "val")
    test_history = wb.data.matrix(*FIT_PARTS["test"])
    recent = recent_history(test_history, wb.data.time_matrix(*FIT_PARTS["test"]), max(SEQUENCE_DEPTHS))
    ranker = TwoStageRanker(p, seed=wb.settings.seed).attach(test_sources, booster, reader, recent)
    ranker.using_threads(wb.settings.job_threads)  # test scoring runs alone: the job's cores
    gain = booster.feature_importance(importance_type="gain")
    importance = {name: float(g / gain.sum()) for name, g in zip(ALL_FEATURES, gain)} if gain.sum() else {}
    logged = {**p.to_dict(), "threads": wb.settings.job_threads, "sources": list(SOURCES)}
    logged |= {"importance": importance, "val_cv_ndcg": checks}
    # the ranker against its own sources on the same val users (the served default's evidence)
    logged |= {"val_cv_ranker": checks[best_name], "val_cv_sources": sources_checked}
    logged["val_cv_visitors"] = visitor_check
    logged["candidate_recall"] = {name: round(value, 4) for name, value in recall.items()}
    logged["label_windows"] = [strategy, *(fold.split_strategy for fold in _earlier_folds(wb))]
    logged["training_pairs"] = len(all_label)
    # on a large split every model is scored on the same seeded sample of test users
    sample = wb.settings.test_users
    logged["test_users_sampled"] = sample
    fit = Fit("evaluate", RANKER, ranker, wb.data, fit_s, started, logged)
    result = wb.log_fitted(fit, "test", save=True)
    _store_candidates(wb, result.run_id, strategy, "train", data, users[row], item, source_features, label)
    # the test users' candidates too: the same sample, sources and history as the evaluation
    history = wb.data.matrix(*FIT_PARTS["test"])
    exclude = wb.data.excluded(*FIT_PARTS["test"]) if wb.settings.eval_exclude == "rated" else history
    truth = wb.data.matrix("test")
    tested = scored_users(truth, sample, wb.settings.seed)
    t_row, t_item, t_features = candidate_pool(test_sources, tested, history, exclude, p.candidates)
    t_label = M.hit_matrix(t_item[:, None].astype(np.int64), truth, tested[t_row])[:, 0].astype(np.float32)
    _store_candidates(wb, result.run_id, strategy, "val", wb.data, tested[t_row], t_item, t_features, t_label)
    wb.say(
        f"  ranker: {len(row):,} val candidates ({label.mean():.1%} hits); candidate recall@{p.candidates} "
        + ", ".join(f"{k} {v:.3f}" for k, v in recall.items())
    )
    folds = wb.settings.ranker_cv_folds
    wb.say(f"  ranker booster chosen by {folds}-fold cross-validation over val users: {_name(chosen)}")
    wb.say(
        f"  its out-of-fold ndcg@10 {checks[best_name]:.4f}; on the same val users, the sources' own: "
        + ", ".join(f"{k} {v:.4f}" for k, v in sources_checked.items())
        + f"; the ranker's with them seen as visitors {visitor_check:.4f}"
    )
    return result, {"recall": recall, "importance": importance, "candidates": int(len(row)), "checks": checks}


def _earlier_folds(wb: Workbench) -> list:
    """Settings of the folds whose val windows also label the booster: the next
    ``ranker_label_windows - 1`` folds back from this one, where the split build holds them
    (none on a split larger than the tuning sample)."""
    settings = wb.settings
    if settings.base_strategy != "per_user" or wb.tuning_data is not wb.data:
        # on a split larger than the tuning sample (25M) an earlier window's feature store
        # costs most of a minute: the ranker learns from its own val window only there
        return []
    wanted = [f"per_user/{settings.fold + j}" for j in range(1, settings.ranker_label_windows)]
    built = {row[0] for row in wb.sql.run(wb.con, "warehouse/splits/fold_strategies.sql").fetchall()}
    return [settings.replace(split_strategy=name) for name in wanted if name in built]


def _earlier_window(wb: Workbench, fold, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(features, labels, rows, users) of an earlier fold's val window: its candidates from
    sources fitted on its own train (not kept: they are not needed again), features as of
    its own train, labels from its val."""
    data = load_split(wb.con, wb.sql, fold.split_strategy)
    if fold.tune_users is not None:
        data = data.sample_users(fold.tune_users, fold.seed)
    sources = {name: wb.fit(name, wb.params_for(name), FIT_PARTS["val"], data, keep=False)[0] for name in SOURCES}
    history, exclude, truth = data.matrix("train"), data.excluded("train"), data.matrix("val")
    users = np.flatnonzero(row_lengths(truth) > 0)
    most = wb.settings.ranker_train_users
    if len(users) > most:
        users = np.sort(np.random.default_rng(wb.settings.seed).choice(users, size=most, replace=False))
    row, item, source_features = candidate_pool(sources, users, history, exclude, n)
    label = M.hit_matrix(item[:, None].astype(np.int64), truth, users[row])[:, 0].astype(np.float32)
    recent = recent_history(history, data.time_matrix("train"), max(SEQUENCE_DEPTHS))
    reader = _reader(wb, data, fold.split_strategy, "train")
    x = pair_inputs(sources, users, row, item, source_features, reader, recent)
    return x, label, row, len(users)


def _as_visitors(wb: Workbench, x, users, row, item, history, rated) -> np.ndarray:
    """``x`` with the users' feature-store columns remade as a visitor's picks make them
    (``visitor_features``): their positives in ``history`` liked, everything in ``rated`` picked."""
    start = 2 * len(SOURCES)  # the sources' score and rank come first (pair_inputs)
    columns = slice(start, start + len(FEATURE_NAMES))
    liked = [history.indices[history.indptr[u] : history.indptr[u + 1]] for u in users]
    years = load_item_years(wb.con, wb.sql, wb.data.item_ids)
    out = x.copy()
    picked = row_lengths(rated)[users]
    out[:, columns] = visitor_features(x[:, columns], liked, picked, row, item, wb.item_genres, years)
    return out


def _store_candidates(
    wb: Workbench, run_id: str, strategy: str, upto: str, data, user_rows, items, source_features, label
):
    """The training candidates as rows of ``candidate_scores``: one per (pair, source that proposed it)."""
    rows = []
    for s, name in enumerate(SOURCES):
        proposed = ~np.isnan(source_features[:, 2 * s])
        n = int(proposed.sum())
        rows.append(
            pa.table({
                "run_id": pa.array([run_id] * n, pa.string()),
                "split_strategy": pa.array([strategy] * n, pa.string()),
                "upto": pa.array([upto] * n, pa.string()),
                "user_id": data.user_ids[user_rows[proposed]].astype(np.int32),
                "movie_id": data.item_ids[items[proposed]].astype(np.int32),
                "source": pa.array([name] * n, pa.string()),
                "score": source_features[proposed, 2 * s],
                "rank": source_features[proposed, 2 * s + 1].astype(np.int32),
                "is_hit": label[proposed] > 0,
            })
        )  # fmt: skip
    insert_arrow(wb.con, "candidate_scores", pa.concat_tables(rows))


def _name(config: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items())


def _rounds(name: str) -> int:
    return int(name.split(",")[0].removeprefix("rounds="))


class _HeldOutSteps:
    """A LightGBM callback for a cross-validation booster: every ROUND_STEP rounds it adds the
    last step's trees to the held-out rows' scores (lambdarank's raw scores add up tree by
    tree) and keeps them by rounds; it stops training once ``ndcg`` of those scores has not
    improved for PATIENCE steps. The trees kept are the ones a full run would have grown."""

    def __init__(self, held_x: np.ndarray, ndcg: Callable[[np.ndarray], float], lightgbm, threads: int) -> None:
        self.held_x, self.ndcg, self.lightgbm, self.threads = held_x, ndcg, lightgbm, threads
        self.scores: dict[int, np.ndarray] = {}
        self.best = (-np.inf, 0)  # (ndcg, rounds)

    def __call__(self, env) -> None:
        rounds = env.iteration + 1
        if rounds % ROUND_STEP:
            return
        step = env.model.predict(
            self.held_x, start_iteration=rounds - ROUND_STEP, num_iteration=ROUND_STEP, num_threads=self.threads
        )
        self.scores[rounds] = self.scores.get(rounds - ROUND_STEP, 0.0) + step
        value = self.ndcg(self.scores[rounds])
        if value > self.best[0]:
            self.best = (value, rounds)
        elif rounds - self.best[1] >= PATIENCE * ROUND_STEP:
            # "best" = the last round grown, so the booster keeps every tree it trained
            raise self.lightgbm.callback.EarlyStopException(rounds - 1, [])


def _train(lightgbm, x, label, row, params: dict, wb: Workbench, every_round: Callable | None = None):
    """A lambdarank booster on candidates grouped by ``row`` (sorted); ``every_round``: a
    LightGBM callback (it may stop training early)."""
    groups = np.bincount(row)
    train = lightgbm.Dataset(x, label, group=groups[groups > 0], feature_name=list(ALL_FEATURES))
    return lightgbm.train(
        {
            "objective": "lambdarank",
            "metric": "ndcg",
            "ndcg_eval_at": [10],
            "num_leaves": params["leaves"],
            "learning_rate": params["learning_rate"],
            # the same numbers on every run: one seed for every random choice LightGBM makes, its
            # deterministic mode, and a fixed histogram layout (col-wise: LightGBM's advice with
            # deterministic); the job's thread count, not a fixed one
            "seed": wb.settings.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": wb.settings.job_threads,
            "verbose": -1,
            "lambdarank_truncation_level": 20,
            "max_bin": 63,  # coarser histograms than the default 255: faster to train
        },
        train,
        num_boost_round=params["rounds"],
        callbacks=[every_round] if every_round is not None else None,
    )


def _source_ndcg(source_features, row, item, users, truth, n_relevant, k: int = 10) -> dict:
    """Each source's own NDCG@k on the val users: its top-k is its best-ranked candidates
    (every source's top-k is in the pool), so the ranker is compared on equal terms."""
    out = {}
    for s, name in enumerate(SOURCES):
        rank = source_features[:, 2 * s + 1]
        score = np.where(np.isnan(rank), -np.inf, -rank)
        out[name] = _ranked_ndcg(score, row, item, users, truth, n_relevant, k)
    return out


def _ranked_ndcg(score, row, item, users, truth, n_relevant, k: int = 10) -> float:
    """NDCG@k of the users' candidates ordered by ``score`` (-inf: not listed), against all
    their val positives."""
    mask = np.isfinite(score)
    score = score[mask]
    r, i = row[mask], item[mask]
    order = np.lexsort((-score, r))
    r, i = r[order], i[order]
    rows = np.unique(r)
    position = np.arange(len(r)) - np.searchsorted(r, r)
    top = np.full((len(users), k), -1, dtype=np.int64)
    keep = position < k
    top[r[keep], position[keep]] = i[keep]
    hits = M.hit_matrix(top[rows], truth, users[rows])
    return float(round(M.ndcg(hits, n_relevant[rows], k).mean(), 5))


def _reader(wb: Workbench, data, strategy: str, upto: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Features of pairs (rows of ``data``, item indices) as of that history: its feature
    tables are made once, here, and every batch of pairs reads them."""
    materialize_features(wb.con, wb.sql, strategy, upto)

    def read(user_rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return pair_features(
            wb.con, wb.sql, strategy, upto, data.user_ids[user_rows], data.item_ids[items], materialized=True
        )

    return read


def _candidate_recall(sources, users, history, exclude, truth, n, row, item) -> dict[str, float]:
    """Share of the val positives among each source's top-n, and among their union."""
    relevant = row_lengths(truth)[users].sum()
    out = {}
    for name in SOURCES:
        top = sources[name].recommend(users, history, n, exclude)
        out[name] = float(M.hit_matrix(top.items, truth, users).sum() / relevant)
    out["union"] = float(M.hit_matrix(item[:, None].astype(np.int64), truth, users[row]).sum() / relevant)
    return out
