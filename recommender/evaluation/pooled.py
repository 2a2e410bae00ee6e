"""Evidence pooled over rolling-origin folds: paired differences between models with a
bootstrap over users, a user being one cluster across folds (their per-fold values are not
independent draws)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import duckdb
import numpy as np

from recommender.sqlfiles import SqlLibrary

#: Resamples of the cluster bootstrap, and the most users one resample draws (m out of n, the
#: spread rescaled by sqrt(m / n), as the report's bootstrap does).
SAMPLES = 1000
MAX_DRAW = 20_000


@dataclass(frozen=True)
class PooledDifference:
    """``better`` minus ``worse`` in a metric, over every (user, fold) both models scored."""

    better: str
    worse: str
    difference: float  # pooled mean of the per-(user, fold) differences
    relative: float  # difference / the worse model's pooled mean
    low: float  # 95 % cluster-bootstrap interval of ``difference``
    high: float
    per_fold: tuple[float, ...]  # the relative difference on each fold, fold 1 first
    users: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def fold_runs(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, strategy: str = "per_user") -> dict[str, dict[str, str]]:
    """fold strategy -> model -> run id of its newest test evaluation on the current build of
    ``strategy``'s folds (``per_user``'s cut-offs or ``crossfold``'s partitions)."""
    out: dict[str, dict[str, str]] = {}
    for fold, model, run_id in sql.run(con, "warehouse/runs/fold_runs.sql", {"strategy": strategy}).fetchall():
        out.setdefault(fold, {})[model] = run_id
    return dict(sorted(out.items(), key=lambda item: _fold_number(item[0])))


def pooled_differences(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    *,
    metric: str = "ndcg",
    k: int = 10,
    seed: int = 42,
    strategy: str = "per_user",
) -> tuple[list[str], dict[str, float], list[PooledDifference]]:
    """(folds, model -> pooled mean, every pair's difference, better model first) over the
    folds where every compared model has a run; empty when fewer than two folds do."""
    runs = fold_runs(con, sql, strategy)
    models = sorted(set.intersection(*(set(m) for m in runs.values()))) if runs else []
    folds = [fold for fold, by_model in runs.items() if all(m in by_model for m in models)]
    if len(folds) < 2 or len(models) < 2:
        return folds, {}, []
    values = {(fold, model): _values(con, sql, runs[fold][model], metric, k) for fold in folds for model in models}
    means = {}
    for model in models:
        pooled = np.concatenate([values[(fold, model)][1] for fold in folds])
        means[model] = float(pooled.mean())
    order = sorted(models, key=lambda m: -means[m])
    out = []
    for better, worse in itertools.combinations(order, 2):
        users, diffs, per_fold = [], [], []
        for fold in folds:
            (ua, va), (ub, vb) = values[(fold, better)], values[(fold, worse)]
            common = np.intersect1d(ua, ub)  # paired: the same users, matched by id
            a, b = va[np.searchsorted(ua, common)], vb[np.searchsorted(ub, common)]
            users.append(common)
            diffs.append(a - b)
            per_fold.append(float((a - b).mean() / b.mean()) if b.mean() else float("nan"))
        user_ids, diff = np.concatenate(users), np.concatenate(diffs)
        worse_mean = float(np.concatenate([values[(f, worse)][1] for f in folds]).mean())
        low, high = cluster_bootstrap_ci(user_ids, diff, seed=seed)
        out.append(
            PooledDifference(
                better,
                worse,
                float(diff.mean()),
                float(diff.mean() / worse_mean) if worse_mean else float("nan"),
                low,
                high,
                tuple(per_fold),
                int(len(np.unique(user_ids))),
            )
        )
    return folds, means, out


def cluster_bootstrap_ci(
    clusters: np.ndarray, values: np.ndarray, *, samples: int = SAMPLES, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` when whole clusters (users) are resampled:
    each resample draws users with replacement and takes every value of each drawn user."""
    ids, cluster = np.unique(clusters, return_inverse=True)
    sums = np.bincount(cluster, weights=values, minlength=len(ids))
    counts = np.bincount(cluster, minlength=len(ids)).astype(np.float64)
    n = len(ids)
    draw = min(n, MAX_DRAW)
    rng = np.random.default_rng(seed)
    means = np.empty(samples)
    for start in range(0, samples, 100):
        picks = rng.integers(0, n, (min(100, samples - start), draw))
        means[start : start + len(picks)] = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    centre = sums.sum() / counts.sum()
    means = centre + (means - centre) * np.sqrt(draw / n)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def markdown(
    folds: list[str],
    means: dict[str, float],
    pairs: list[PooledDifference],
    k: int = 10,
    kind: str = "rolling-origin folds",
) -> list[str]:
    """The pooled tables as Markdown lines (empty without two folds); ``kind`` names the folds."""
    if not pairs:
        return []
    lines = [
        f"Pooled over {len(folds)} {kind} ({', '.join(folds)}): NDCG@{k} over every "
        "(user, fold), 95 % bootstrap CI over users (a user is one cluster across folds).",
        "",
        "| model | pooled NDCG@10 |",
        "|---|---:|",
    ]
    lines += [f"| {model} | {value:.4f} |" for model, value in sorted(means.items(), key=lambda kv: -kv[1])]
    lines += [
        "",
        "| comparison | per fold (relative) | pooled difference | relative | 95 % CI | CI excludes 0 |",
        "|---|---|---:|---:|---|---|",
    ]
    for p in pairs:
        per_fold = ", ".join(f"{r:+.1%}" for r in p.per_fold)
        lines.append(
            f"| {p.better} - {p.worse} | {per_fold} | {p.difference:+.4f} | {p.relative:+.1%} | "
            f"[{p.low:+.4f}, {p.high:+.4f}] | {'yes' if p.excludes_zero else 'no'} |"
        )
    return lines


def _values(con, sql: SqlLibrary, run_id: str, metric: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    table = sql.arrow(con, "warehouse/runs/user_values.sql", {"run_ids": [run_id], "metric": metric, "k": k})
    return table.column("user_id").to_numpy(), table.column("value").to_numpy()


def _fold_number(strategy: str) -> int:
    _, _, number = strategy.partition("/")
    return int(number) if number else 1
