"""`recsys report`: the comparison table with bootstrap confidence intervals, and plots."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from recommender.config import FOLDED_STRATEGIES, Settings  # noqa: E402
from recommender.errors import DataError  # noqa: E402
from recommender.evaluation import pooled  # noqa: E402
from recommender.evaluation.default_model import choose_default  # noqa: E402
from recommender.evaluation.runlog import best_config, code_version, readable_config  # noqa: E402
from recommender.names import MODEL_NAMES  # noqa: E402
from recommender.sqlfiles import SqlLibrary  # noqa: E402

REPORT_K = 10
#: The paired comparisons the report makes (first minus second, same users).
PAIRS = (
    ("als", "popular"),
    ("itemknn", "popular"),
    ("als", "itemknn"),
    ("ease", "als"),
    ("hybrid", "als"),
    ("diverse", "als"),
    ("ranker", "ease"),
    ("ranker", "als"),
)
TABLE_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "diversity", "novelty")
BOOTSTRAP_SAMPLES = 1000


#: Above this many users the bootstrap resamples this many (m out of n) and rescales the
#: spread by sqrt(m / n): the same interval for a mean, at a fraction of the cost on 25M.
BOOTSTRAP_MAX_DRAW = 20_000


def bootstrap_ci(
    values: np.ndarray, *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0, level: float = 0.95, chunk: int = 100
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over users (NaNs dropped); chunked to bound memory.
    With more than BOOTSTRAP_MAX_DRAW users, an m-out-of-n bootstrap of the mean (resamples
    of m users, deviations scaled by sqrt(m / n))."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n = len(values)
    draw = min(n, BOOTSTRAP_MAX_DRAW)
    means = np.concatenate(
        [
            values[rng.integers(0, n, (min(chunk, samples - start), draw))].mean(axis=1)
            for start in range(0, samples, chunk)
        ]
    )
    centre = values.mean()
    means = centre + (means - centre) * np.sqrt(draw / n)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def _user_values(
    con, sql: SqlLibrary, run_ids: list[str], metric: str, k: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """run id -> (user ids ascending, that run's per-user values)."""
    table = sql.arrow(con, "warehouse/runs/user_values.sql", {"run_ids": run_ids, "metric": metric, "k": k})
    run = np.asarray(table.column("run_id").to_pylist())
    users = table.column("user_id").to_numpy()
    values = table.column("value").to_numpy()
    return {r: (users[run == r], values[run == r]) for r in run_ids}


@dataclass(frozen=True)
class PairedChange:
    """One model's test NDCG@K before and after (two evaluation runs), on the users both
    scored, with the 95 % bootstrap CI of the paired difference."""

    users: int
    before: float
    after: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return not (self.low <= 0.0 <= self.high)


def paired_change(con, sql: SqlLibrary, before_run: str, after_run: str, seed: int) -> PairedChange | None:
    """NDCG@REPORT_K of two runs of one model on the users both scored (None: no user in common)."""
    values = _user_values(con, sql, [before_run, after_run], "ndcg", REPORT_K)
    (ub, vb), (ua, va) = values[before_run], values[after_run]
    common = np.intersect1d(ub, ua)
    if len(common) == 0:
        return None
    vb, va = vb[np.searchsorted(ub, common)], va[np.searchsorted(ua, common)]
    low, high = bootstrap_ci(va - vb, seed=seed)
    return PairedChange(len(common), float(np.nanmean(vb)), float(np.nanmean(va)), low, high)


def write_report(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    out: Path,
    say: Callable[[str], None] = lambda m: None,
) -> Path:
    """Write ``out/report.md`` and its plots (``models.png``; ``tradeoff.png``,
    ``ranker_features.png`` and ``simulation.png`` when there is a sweep, a ranker, a
    simulation); returns the report path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    finals = _final_runs(con, sql, settings)
    run_ids = [r[0] for r in finals]
    models = [r[1] for r in finals]
    rows = {}
    for metric in TABLE_METRICS:
        per_run = _user_values(con, sql, run_ids, metric, REPORT_K)
        for run_id, model in zip(run_ids, models):
            v = per_run[run_id][1]
            rows[(model, metric)] = (
                float(np.nanmean(v)) if len(v) else float("nan"),
                *bootstrap_ci(v, seed=settings.seed),
            )
    coverage = dict(sql.run(con, "warehouse/runs/coverage.sql", {"run_ids": run_ids, "k": REPORT_K}).fetchall())

    paired = _paired_differences(con, sql, dict(zip(models, run_ids)), settings.seed)
    sweep = sql.run(
        con, "warehouse/runs/sweep_points.sql", {"strategy": settings.split_strategy, "k": REPORT_K}
    ).fetchall()
    _plot_models(out / "models.png", models, rows)
    plots = [out / "models.png"]
    if sweep:
        _plot_tradeoff(out / "tradeoff.png", sweep, best_config(con, sql, settings, "diverse") or {})
        plots.append(out / "tradeoff.png")
    ranker = next((json.loads(params) for _, model, params, _, _ in finals if model == "ranker"), None)
    if ranker and ranker.get("importance"):
        _plot_importance(out / "ranker_features.png", ranker["importance"])
        plots.append(out / "ranker_features.png")
    simulation = sql.run(con, "warehouse/simulation/steps.sql", {"simulation_id": None}).fetchall()
    if simulation:
        _plot_simulation(out / "simulation.png", simulation)
        plots.append(out / "simulation.png")

    cutoffs = sql.run(con, "warehouse/runs/cutoffs.sql", {"strategy": settings.split_strategy}).fetchall()
    lines = [
        f"# Offline evaluation report: {protocol(con, sql, settings)}",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} by `recsys report` (code {code_version()}).",
        f"Split: **{settings.split_strategy}** ({cutoffs[0][0] if cutoffs else 'no cut-offs'}). "
        f"Numbers are on **test**, each model refitted on train+val with the configuration chosen on val. "
        f"Cut-off K = {REPORT_K}; 95% bootstrap confidence intervals over users ({BOOTSTRAP_SAMPLES} resamples).",
        "",
        "| model | users | " + " | ".join(f"{m}@{REPORT_K}" for m in TABLE_METRICS) + f" | coverage@{REPORT_K} |",
        "|---|---|" + "---|" * (len(TABLE_METRICS) + 1),
    ]
    for run_id, model, _params, n_users, _ in finals:
        cells = [
            f"{rows[(model, m)][0]:.4f} [{rows[(model, m)][1]:.4f}, {rows[(model, m)][2]:.4f}]" for m in TABLE_METRICS
        ]
        lines.append(f"| {model} | {n_users} | " + " | ".join(cells) + f" | {coverage.get(run_id, float('nan')):.4f} |")
    lines += ["", "Configurations (chosen on val):", ""]
    lines += [f"- `{model}`: `{readable_config(params)}` (run `{run_id}`)" for (run_id, model, params, _, _) in finals]
    if paired:
        lines += [
            "",
            f"## Paired differences in NDCG@{REPORT_K} (same users, 95% bootstrap CI)",
            "",
            "| comparison | difference | relative | CI |",
            "|---|---|---|---|",
        ]
        for name, (diff, rel, lo, hi) in paired.items():
            lines.append(f"| {name} | {diff:+.4f} | {rel:+.1%} | [{lo:+.4f}, {hi:+.4f}] |")
    folds = folds_markdown(con, sql, settings)
    lines += ["", f"## {FOLD_KINDS.get(settings.split_strategy, 'folds').capitalize()}", "", folds] if folds else []
    lines += ["", "![models](models.png)", ""]
    points = {"strategy": settings.split_strategy, "k": REPORT_K}
    blend = sql.run(con, "warehouse/runs/blend_points.sql", points).fetchall()
    if blend:
        plain = next((n for _, w, n in blend if w == 0.0), float("nan"))
        best_window, best_weight, best_ndcg = max(blend, key=lambda p: p[2])
        verdict = (
            f"**The hybrid beats plain ALS on val**: weight {best_weight} (window {best_window}) reaches "
            f"NDCG@{REPORT_K} {best_ndcg:.4f} against {plain:.4f}."
            if best_weight > 0 and best_ndcg > plain
            else f"**The hybrid does not beat plain ALS on val** (best NDCG@{REPORT_K} {best_ndcg:.4f} at weight 0): "
            "it serves ALS's lists."
        )
        lines += [
            "## Hybrid: ALS blended with popularity (val)",
            "",
            verdict,
            "",
            f"| window (days) | popularity weight | ndcg@{REPORT_K} |",
            "|---|---|---|",
        ]
        lines += [f"| {w} | {wt:.2f} | {n:.4f} |" for w, wt, n in blend]
        lines.append("")
    if sweep:
        chosen = best_config(con, sql, settings, "diverse") or {}
        lines += [
            "## Discovery trade-off (val)",
            "",
            "ALS's top candidates re-ranked by greedy MMR with a popularity penalty; each point is one "
            "(lambda, penalty), both 0 being plain ALS. Popularity is the mean number of training users who "
            "liked each listed movie; novelty its mean self-information; diversity the intra-list diversity "
            "over genre vectors. The served setting (marked) has the best NDCG among those whose lists are "
            "less popular than ALS's for most users and share few movies with them.",
            "",
            f"| lambda | popularity penalty | ndcg@{REPORT_K} | popularity@{REPORT_K} | novelty@{REPORT_K} "
            f"| diversity@{REPORT_K} | served |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {lam:.1f} | {pen:.2f} | {n:.4f} | {pop:.1f} | {nov:.3f} | {d:.4f} | "
            f"{'yes' if _is_chosen(chosen, lam, pen) else ''} |"
            for lam, pen, n, pop, nov, d in sweep
        ]
        lines += ["", "![trade-off](tradeoff.png)", ""]
    if ranker:
        top = sorted(ranker.get("importance", {}).items(), key=lambda kv: -kv[1])[:5]
        lines += [
            "## Two-stage ranker",
            "",
            f"Candidates: the union of the top-{ranker['candidates']} of {', '.join(ranker['sources'])} per user; "
            "LightGBM lambdarank trained on val labels (features as of train), its setting and rounds chosen by "
            "cross-validation over the val users, evaluated once on test (sources refitted on train+val, features "
            "as of train+val). Out-of-fold val NDCG@10 of the best settings: "
            + ", ".join(
                f"`{k}` {v:.4f}" for k, v in sorted(ranker.get("val_cv_ndcg", {}).items(), key=lambda kv: -kv[1])[:3]
            )
            + ". "
            + (
                f"Share of the val positives among the candidates (recall@{ranker['candidates']}): "
                + ", ".join(f"{name} {value:.3f}" for name, value in ranker["candidate_recall"].items())
                + " (union: all sources together). "
                if ranker.get("candidate_recall")
                else ""
            )
            + "Largest shares of the gain: "
            + ", ".join(f"{name} {share:.1%}" for name, share in top)
            + ".",
            "",
            "![ranker features](ranker_features.png)",
            "",
        ]
    if simulation:
        lines += [
            "## Online evaluation simulation (the newest `recsys simulate`)",
            "",
            "The rating log replayed in time order: at each cut-off every model is fitted on everything before it "
            f"and scores the users active in the next window on what they then liked (K = {REPORT_K}). "
            "`fallback` counts the users answered by the popular fallback alone (unknown at the cut-off).",
            "",
            "| step | cut-off | window end | model | users | fallback | ndcg | recall | hit rate | coverage |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {st} | {c} | {e} | {m} | {u} | {f} | {n:.4f} | {r:.4f} | {h:.4f} | {cov:.4f} |"
            for st, c, e, m, u, f, n, r, h, _hits, cov, _fit in simulation
        ]
        lines += ["", "![simulation](simulation.png)", ""]
    lines += [
        "## Re-query these numbers",
        "",
        "```sql",
        f"select * from run_table({REPORT_K}) where kind = 'evaluate';",
        f"select * from run_user_metrics where run_id = '<run_id>' and metric = 'ndcg' and k = {REPORT_K};",
        "```",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    say(f"wrote {path}, " + ", ".join(str(p) for p in plots))
    return path


#: The columns of the results table `recsys report --markdown` prints (test, K = REPORT_K).
RESULT_METRICS = (
    "precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage", "diversity", "novelty", "popularity",
)  # fmt: skip
#: Decimals a metric is printed with (4 unless named).
DECIMALS = {"novelty": 3, "popularity": 1}


def results_markdown(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> str:
    """The results tables as Markdown, from the run log alone: each model's newest test
    evaluation (mean over users, best NDCG first) and the paired differences with their 95 %
    bootstrap CIs. Nothing in it depends on when or how fast the job ran, so the same data and
    settings print the same text (the docs' results tables are this output, and a test keeps them so)."""
    finals = _final_runs(con, sql, settings)
    run_ids = [r[0] for r in finals]
    models = [r[1] for r in finals]
    users = {model: n for _, model, _, n, _ in finals}
    means: dict[tuple[str, str], float] = {}
    for metric in RESULT_METRICS:
        if metric == "coverage":
            coverage = dict(sql.run(con, "warehouse/runs/coverage.sql", {"run_ids": run_ids, "k": REPORT_K}).fetchall())
            means |= {(model, metric): coverage.get(run_id, float("nan")) for run_id, model in zip(run_ids, models)}
            continue
        per_run = _user_values(con, sql, run_ids, metric, REPORT_K)
        for run_id, model in zip(run_ids, models):
            values = per_run[run_id][1]
            means[(model, metric)] = float(np.nanmean(values)) if len(values) else float("nan")
    order = sorted(models, key=lambda m: -means[(m, "ndcg")])
    lines = [
        f"Test, K = {REPORT_K}, {settings.split_strategy} split; each model refitted on train+val with the "
        "configuration chosen on val.",
        "",
        "| model | users | " + " | ".join(RESULT_METRICS) + " |",
        "|---|---:|" + "---:|" * len(RESULT_METRICS),
    ]
    for model in order:
        cells = [f"{means[(model, m)]:.{DECIMALS.get(m, 4)}f}" for m in RESULT_METRICS]
        lines.append(f"| {model} | {users[model]} | " + " | ".join(cells) + " |")
    paired = _paired_differences(con, sql, dict(zip(models, run_ids)), settings.seed)
    if paired:
        lines += [
            "",
            f"Paired differences in NDCG@{REPORT_K} (the same users; 95 % bootstrap CI over users):",
            "",
            "| comparison | difference | relative | 95 % CI | CI excludes 0 |",
            "|---|---:|---:|---|---|",
        ]
        for name, (diff, rel, lo, hi) in paired.items():
            excludes = "yes" if lo > 0 or hi < 0 else "no"
            lines.append(f"| {name} | {diff:+.4f} | {rel:+.1%} | [{lo:+.4f}, {hi:+.4f}] | {excludes} |")
    default = choose_default(con, sql, settings, first_fold_only=True)
    lines += ["", f"Served by default (judged on this split alone): **{default.model}**: {default.reason}."]
    return "\n".join(lines) + "\n"


#: What the folds of each folded split are called in the report.
FOLD_KINDS = {"per_user": "rolling-origin folds", "crossfold": "crossfold partitions"}


def protocol(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> str:
    """The evaluation protocol of the split's current build in words, for the report's title
    (what the split was built with, whatever the report's own flags say)."""
    rows = sql.run(con, "warehouse/runs/protocol.sql", {"strategy": settings.split_strategy}).fetchall()
    if not rows:
        return settings.split_strategy
    unit, test, threshold, folds, seed = rows[0]
    share = f"{test:g} of each user's positives" if unit == "fraction" else f"{test:g} positives of each user"
    seeded = f", seed {seed}" if seed is not None else ""
    named = {
        "global": "global temporal split (one cut-off for every user)",
        "per_user": f"per-user temporal holdout (the newest {share})",
        "random": f"per-user random holdout ({share}{seeded})",
        "crossfold": f"user crossfold ({folds} partitions; {share} held out{seeded})",
    }[settings.base_strategy]
    positives = "every rating" if threshold <= 0.5 else f"ratings >= {threshold:g}"
    return f"{named}; positives: {positives}"


def folds_markdown(con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings) -> str:
    """The tables pooled over the current build's rolling-origin folds (`recsys run --folds N`)
    as Markdown; empty when the build has one fold."""
    if settings.split_strategy not in FOLDED_STRATEGIES:
        return ""
    differences = pooled.pooled_differences(con, sql, k=REPORT_K, seed=settings.seed, strategy=settings.split_strategy)
    lines = pooled.markdown(*differences, kind=FOLD_KINDS[settings.split_strategy])
    if not lines:
        return ""
    default = choose_default(con, sql, settings)
    lines += ["", f"Served by default (judged over every fold): **{default.model}**: {default.reason}."]
    return "\n".join(lines) + "\n"


def _final_runs(con, sql: SqlLibrary, settings: Settings) -> list[tuple]:
    """(run id, model, params, users, created) of each model's newest test evaluation on the
    configured split; refuses a warehouse without any."""
    finals = sql.run(
        con, "warehouse/runs/final_runs.sql", {"strategy": settings.split_strategy, "models": list(MODEL_NAMES)}
    ).fetchall()
    if not finals:
        raise DataError(f"no final runs for the {settings.split_strategy} split yet; run `recsys evaluate` first")
    return finals


def _paired_differences(con, sql, run_by_model: dict[str, str], seed: int) -> dict[str, tuple]:
    pairs = [(a, b) for a, b in PAIRS if a in run_by_model and b in run_by_model]
    if not pairs:
        return {}
    values = _user_values(con, sql, list(run_by_model.values()), "ndcg", REPORT_K)
    out = {}
    for a, b in pairs:
        (ua, va), (ub, vb) = values[run_by_model[a]], values[run_by_model[b]]
        common = np.intersect1d(ua, ub)  # paired: the same users on both sides, matched by id
        if len(common) == 0:
            continue
        va, vb = va[np.searchsorted(ua, common)], vb[np.searchsorted(ub, common)]
        diff = va - vb
        lo, hi = bootstrap_ci(diff, seed=seed)
        out[f"{a} - {b}"] = (float(diff.mean()), float(diff.mean() / vb.mean()) if vb.mean() else float("nan"), lo, hi)
    return out


def _plot_importance(path: Path, importance: dict[str, float]) -> None:
    """The ranker's features by share of LightGBM's total gain."""
    names = sorted(importance, key=lambda name: importance[name])
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1), dpi=110)
    ax.barh(names, [importance[n] for n in names])
    ax.set_xlabel("share of the booster's total gain")
    ax.set_ylabel("feature")
    ax.set_title("Two-stage ranker: what its booster learnt from (test fit)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_simulation(path: Path, rows: list[tuple]) -> None:
    """NDCG@K per step, one line per model, over the number of users each step scored."""
    fig, (ax, users_ax) = plt.subplots(
        2, 1, figsize=(9, 6), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for model in sorted({r[3] for r in rows}):
        points = [(r[1], r[6]) for r in rows if r[3] == model]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=model)
    ax.set_ylabel(f"NDCG@{REPORT_K} of the window's users")
    ax.set_title("Online simulation: each step retrains at its cut-off and scores the next window")
    ax.legend()
    steps = sorted({(r[1], r[4]) for r in rows})  # (cut-off, users): the same users for every model
    users_ax.bar([s[0] for s in steps], [s[1] for s in steps], width=5)
    users_ax.set_ylabel("users scored")
    users_ax.set_xlabel("cut-off (the window after it is scored)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_models(path: Path, models: list[str], rows: dict) -> None:
    metrics = ("precision", "recall", "ndcg", "map", "mrr")
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    width = 0.8 / len(models)
    x = np.arange(len(metrics))
    for i, model in enumerate(models):
        mean = np.array([rows[(model, m)][0] for m in metrics])
        err = np.array(
            [[mean[j] - rows[(model, m)][1], rows[(model, m)][2] - mean[j]] for j, m in enumerate(metrics)]
        ).T
        ax.bar(x + i * width - 0.4 + width / 2, mean, width, yerr=err, capsize=3, label=model)
    ax.set_xticks(x, [f"{m}@{REPORT_K}" for m in metrics])
    ax.set_ylabel("mean over test users (95% CI)")
    ax.set_title("Models on the test split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _is_chosen(chosen: dict, lam: float, penalty: float) -> bool:
    return bool(chosen) and chosen.get("lam") == lam and chosen.get("popularity", 0.0) == penalty


def _plot_tradeoff(path: Path, sweep: list[tuple], chosen: dict) -> None:
    """NDCG@K on val against mean popularity, novelty and diversity: one line per popularity
    penalty through its lambdas (no point labels: the legend says which line is which)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110, sharey=True)
    columns = {"popularity": 3, "novelty": 4, "diversity": 5}
    labels = {
        "popularity": f"mean popularity@{REPORT_K} (users per movie)",
        "novelty": f"novelty@{REPORT_K} (bits)",
        "diversity": f"intra-list diversity@{REPORT_K}",
    }
    for penalty in sorted({p[1] for p in sweep}):
        pts = sorted((p for p in sweep if p[1] == penalty), key=lambda p: p[0])
        for ax, col in zip(axes, columns.values()):
            ax.plot([p[col] for p in pts], [p[2] for p in pts], marker="o", ms=4, label=f"penalty {penalty:.2f}")
    served = [p for p in sweep if _is_chosen(chosen, p[0], p[1])]
    for ax, (name, col) in zip(axes, columns.items()):
        if served:
            ax.plot(served[0][col], served[0][2], marker="*", ms=16, color="black", ls="", label="served")
        ax.set_xlabel(labels[name])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"NDCG@{REPORT_K} (val)")
    axes[0].legend(fontsize=8, title="each line: lambda 0 to 0.8", title_fontsize=8)
    fig.suptitle("Discovery trade-off: accuracy against popularity, novelty and diversity (val)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
