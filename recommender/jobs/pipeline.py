"""Model jobs: train (fit on train, score val), tune (val only), sweep, evaluate (refit
on train+val, score test once). Every run is logged in the warehouse."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import scipy.sparse as sp

from recommender.config import Settings
from recommender.evaluation import metrics as M
from recommender.evaluation.evaluate import Evaluation, evaluate, item_space
from recommender.evaluation.runlog import (
    ChosenConfig,
    RunRecord,
    best_config,
    log_run,
    new_run_id,
    readable_config,
    save_best_config,
)
from recommender.evaluation.tuning import (
    BLEND_WEIGHTS,
    BLEND_WINDOWS,
    DEFAULT_TRIALS,
    DISCOVERY_CANDIDATES,
    DISCOVERY_SIMILARITY,
    ITERATION_STEP,
    LAMBDAS,
    POPULARITY_PENALTIES,
    SAMPLED_TRIALS,
    SEARCH_SPACES,
    choose_discovery,
    full_grid,
    search,
)
from recommender.models import ALS, MODEL_NAMES, MODELS, Recommender
from recommender.models.als_engines import ALSEngine
from recommender.models.ease import item_gram
from recommender.sqlfiles import SqlLibrary
from recommender.version.build import Production, ProductionModel
from recommender.warehouse.export import ALL_PARTS, SplitData, load_item_genres, load_production, load_split
from recommender.words import plural

#: Tuning and lambda choice optimise this metric at this cut-off (on val).
OBJECTIVE = ("ndcg", 10)
FIT_PARTS = {"val": ("train",), "test": ("train", "val")}


@dataclass(frozen=True)
class RunResult:
    run_id: str
    model: str
    params: dict[str, Any]
    evaluation: Evaluation
    fitted: Recommender | None  # None for a stepped ALS trial (its model trained on past the best step)


@dataclass(frozen=True)
class Fit:
    """A model fitted for a run, as the run log records it: the run's ``kind``, the model's
    name and fitted state, the data it was fitted on, its parameters as logged (None: the
    fitted model's own), seconds to fit, and when the run started (``time.perf_counter()``)."""

    kind: str
    model: str
    fitted: Recommender
    data: SplitData
    fit_s: float
    started: float
    params: dict[str, Any] | None = None


#: Run kinds that fit and score on the tuning sample (Workbench.tuning_data).
TUNING_KINDS = ("tune", "sweep")
#: Models that re-rank the tuned ALS's candidates, with the parameters their own tuning sets.
RERANKERS = {
    "diverse": ("lam", "candidates", "similarity", "popularity"),
    "hybrid": ("weight", "window_days", "candidates"),
}


class Workbench:
    """An open warehouse with the configured split loaded once, shared by a job's runs
    (or, given ``data``, another data set such as the production one)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: SqlLibrary,
        settings: Settings,
        say: Callable[[str], None] = lambda m: None,
        *,
        data: SplitData | None = None,
    ) -> None:
        if OBJECTIVE[1] not in settings.ks:
            settings = settings.replace(ks=tuple(sorted({*settings.ks, OBJECTIVE[1]})))
        self.con, self.sql, self.settings, self.say = con, sql, settings, say
        self.data: SplitData = data if data is not None else load_split(con, sql, settings.split_strategy)
        self.item_genres, self.genre_names = load_item_genres(con, sql, self.data.item_ids)
        self._fitted: dict[tuple, Recommender] = {}
        self._gram_cache: tuple | None = None
        self.engine = ALSEngine.of(settings)
        self.engine.check()  # a machine that cannot run it refuses before any work

    # -- configuration ----------------------------------------------------------------
    def params_for(self, model: str) -> dict[str, Any]:
        """The tuned configuration if there is one, else the model's defaults."""
        if model in RERANKERS:  # the tuned ALS, re-ranked with the re-ranker's own tuned knobs
            tuned = best_config(self.con, self.sql, self.settings, model) or {}
            als = self.params_for("als")
            return {**als, **{k: v for k, v in tuned.items() if k in RERANKERS[model]}}
        return best_config(self.con, self.sql, self.settings, model) or {}

    @functools.cached_property
    def tuning_data(self) -> SplitData:
        """What tuning and sweeps fit and score on: the split, or a seeded sample of
        ``settings.tune_users`` of its users when it has more (the item space is the same)."""
        if self.settings.tune_users is None or len(self.data.user_ids) <= self.settings.tune_users:
            return self.data
        among = None
        if self.settings.base_strategy == "crossfold":  # only the held-out partition's users have val rows
            among = np.flatnonzero(np.diff(self.data.matrix("val").indptr) > 0)
        return self.data.sample_users(self.settings.tune_users, self.settings.seed, among)

    def data_for(self, kind: str) -> SplitData:
        return self.tuning_data if kind in TUNING_KINDS else self.data

    def keep_best(self, best: RunResult) -> None:
        """Store ``best``'s configuration as its model's, chosen by the tuning objective."""
        metric, k = OBJECTIVE
        chosen = ChosenConfig(best.model, best.params, best.run_id, metric, k, best.evaluation.value(metric, k))
        save_best_config(self.con, self.sql, self.settings, chosen)

    # -- fitting ----------------------------------------------------------------------
    def fit(
        self,
        model: str,
        params: dict[str, Any],
        parts: tuple[str, ...],
        data: SplitData | None = None,
        *,
        keep: bool = True,
    ) -> tuple[Recommender, float]:
        """Fit (or reuse a model fitted in this job with the same config and data); ``keep``:
        remember the fit for reuse (tuning trials are not kept: dozens of EASE weight matrices
        would not fit in memory)."""
        data = self.data if data is None else data
        # the canonical form (defaults filled in), so {} and the defaults spelled out share a fit
        canonical = MODELS[model].Params.from_dict(params).to_dict()
        key = (model, json.dumps(canonical, sort_keys=True), parts, data.token)
        if key in self._fitted:
            return self._fitted[key], 0.0
        started = time.perf_counter()
        fitted = MODELS[model].fit_from(params, _JobInputs(self, data, parts))
        if keep:
            self._fitted[key] = fitted
        return fitted, time.perf_counter() - started

    def _gram(self, data: SplitData, parts: tuple[str, ...], max_items: int | None) -> tuple:
        """EASE's item Gram matrix of (data, parts, cap), computed once per job: every lambda
        tried reuses it (the last one only: a new key replaces it, bounding memory)."""
        key = (data.token, parts, max_items)
        if self._gram_cache is None or self._gram_cache[0] != key:
            self._gram_cache = None  # free the old one first
            self._gram_cache = (key, item_gram(data.matrix(*parts), max_items))
        return self._gram_cache[1]

    def run(self, kind: str, model: str, params: dict[str, Any], eval_part: str, *, save: bool = False) -> RunResult:
        """Fit on the parts before ``eval_part``, score ``eval_part``, log the run (tuning
        kinds on ``tuning_data``)."""
        if eval_part not in FIT_PARTS:
            raise ValueError(f"eval_part must be val or test, got {eval_part!r}")
        started = time.perf_counter()
        data = self.data_for(kind)
        fitted, fit_s = self.fit(model, params, FIT_PARTS[eval_part], data, keep=kind != "tune")
        return self.log_fitted(Fit(kind, model, fitted, data, fit_s, started), eval_part, save=save)

    def run_als_steps(self, params: dict[str, Any], report, results: list[RunResult]) -> RunResult:
        """One ALS tuning trial: fit ITERATION_STEP iterations at a time (warm start), score
        val after each step, stop when val stops improving or at the settings' als_max_iterations; logs the
        best step as the trial's run (``iterations`` = its count) and appends it to
        ``results``, also when ``report`` prunes the trial."""
        data, parts, metric, k = self.tuning_data, FIT_PARTS["val"], *OBJECTIVE
        started = time.perf_counter()
        model = ALS({**params, "iterations": ITERATION_STEP}, seed=self.settings.seed)
        model.using_threads(self.settings.threads or 0).fit(data.matrix(*parts))
        best: tuple[float, int, Evaluation] | None = None
        try:
            for iterations in range(ITERATION_STEP, self.settings.als_max_iterations + 1, ITERATION_STEP):
                if iterations > ITERATION_STEP:
                    model.fit_more(data.matrix(*parts), ITERATION_STEP)
                evaluation = self.evaluate_on(model, data, "val")
                value = evaluation.value(metric, k)
                if best is not None and value <= best[0]:
                    break  # val stopped improving: the previous step is the trial's answer
                best = (value, iterations, evaluation)
                report(value, iterations)
        finally:
            if best is not None:
                value, iterations, evaluation = best
                params = {**model.params.to_dict(), "iterations": iterations}
                fit = Fit("tune", "als", model, data, time.perf_counter() - started, started, params)
                result = self._record(fit, evaluation)
                results.append(result)
        return result

    def evaluate_on(
        self, fitted: Recommender, data: SplitData, eval_part: str, *, max_users: int | None = None
    ) -> Evaluation:
        """Score a fitted model on a part of ``data``: the evaluation every run uses (on test,
        at most ``settings.test_users`` users: a seeded sample, the same for every model)."""
        parts = FIT_PARTS[eval_part]
        if eval_part == "test" and max_users is None:
            max_users = self.settings.test_users
        items = item_space(data.matrix(*parts), self.item_genres)
        exclude_rated = self.settings.eval_exclude == "rated"
        return evaluate(
            fitted,
            data,
            eval_part,
            parts,
            self.settings.ks,
            items,
            exclude_rated=exclude_rated,
            max_users=max_users,
            seed=self.settings.seed,
        )

    def log_fitted(self, fit: Fit, eval_part: str, *, save: bool = False, max_users: int | None = None) -> RunResult:
        """Score ``fit`` on ``eval_part`` of its data and log the run (``save``: with the
        fitted model's artifact; ``max_users``: on a seeded sample of that many of the part's
        users). A model fitted elsewhere (the two-stage ranker) is logged the same way."""
        evaluation = self.evaluate_on(fit.fitted, fit.data, eval_part, max_users=max_users)
        run_id = new_run_id()
        artifact = None
        if save:
            artifact = str(fit.fitted.save(self.settings.models_dir / f"{run_id}-{fit.model}.npz").resolve())
        return self._record(fit, evaluation, run_id=run_id, artifact=artifact)

    def _record(
        self, fit: Fit, evaluation: Evaluation, *, run_id: str | None = None, artifact: str | None = None
    ) -> RunResult:
        run_id = run_id or new_run_id()
        params = fit.params or fit.fitted.params.to_dict()
        parts = FIT_PARTS[evaluation.part]
        record = RunRecord(fit.kind, fit.model, params, parts, fit.fit_s, time.perf_counter() - fit.started, artifact)
        log_run(self.con, self.sql, self.settings, record, evaluation, run_id=run_id)
        metric, k = OBJECTIVE
        sampled = "" if fit.data is self.data else " (sample)"
        self.say(
            f"  {fit.kind:8s} {fit.model:8s} {evaluation.part:4s} {metric}@{k}={evaluation.value(metric, k):.4f} "
            f"users={evaluation.n_users}{sampled} fit={fit.fit_s:.1f}s run={run_id}"
        )
        # trials are many: keep their numbers, not their models
        return RunResult(run_id, fit.model, params, evaluation, None if fit.kind == "tune" else fit.fitted)


# -- jobs -----------------------------------------------------------------------------


def expand(models: str | list[str]) -> list[str]:
    names = list(MODEL_NAMES) if models in ("all", ["all"]) else ([models] if isinstance(models, str) else models)
    return names


def train(wb: Workbench, models: list[str]) -> list[RunResult]:
    """Fit each model on train with its current config, score val, save the artifact."""
    return [wb.run("train", m, wb.params_for(m), "val", save=True) for m in expand(models)]


class _JobInputs:
    """What a model's fit recipe reads in a job (``FitInputs``): ``parts`` of ``data``, and
    the workbench's shared fits and Gram matrix."""

    def __init__(self, wb: Workbench, data: SplitData, parts: tuple[str, ...]) -> None:
        self.wb, self.data, self.parts, self.seed = wb, data, parts, wb.settings.seed
        self.threads = wb.settings.threads or 0

    def matrix(self) -> sp.csr_matrix:
        return self.data.matrix(*self.parts)

    def times(self) -> sp.csr_matrix:
        return self.data.time_matrix(*self.parts)

    def fitted(self, name: str, params: Mapping[str, Any]) -> Recommender:
        return self.wb.fit(name, dict(params), self.parts, self.data)[0]

    def extra(self, name: str) -> Any:
        if name == "gram":
            return functools.partial(self.wb._gram, self.data, self.parts)
        if name == "item_genres":
            return self.wb.item_genres
        if name == "als_engine":
            return self.wb.engine
        raise KeyError(f"no job input named {name!r}")


def tune(wb: Workbench, model: str, trials: int | None = None) -> RunResult:
    """Search the model's space on val (tuning.py says how) with ``trials`` trials (default:
    the model's DEFAULT_TRIALS, or SAMPLED_TRIALS on a tuning sample); store and return the best run."""
    metric, k = OBJECTIVE
    if model in SWEEPS:
        return SWEEPS[model](wb)
    results: list[RunResult] = []
    sampled = wb.tuning_data is not wb.data
    budgets = SAMPLED_TRIALS if sampled else DEFAULT_TRIALS
    trials = budgets.get(model, 1) if trials is None else trials
    sample = wb.tuning_data
    users = f" on {len(sample.user_ids):,} sampled users" if sample is not wb.data else ""
    most = wb.settings.itemknn_max_similarities
    grid = full_grid(model, wb.data.matrix(*FIT_PARTS["test"]), most) if model in SEARCH_SPACES else [{}]
    if grid is not None and len(grid) <= trials:
        wb.say(f"  tuning {model}: all {len(grid)} configurations{users}")
        results = [wb.run("tune", model, params, "val") for params in grid]
    else:
        wb.say(f"  tuning {model}: {plural(trials, 'trial')} of a sequential search{users}")

        def objective(params: dict[str, Any], report) -> float:
            if model == "als":
                result = wb.run_als_steps(params, report, results)
            else:
                result = wb.run("tune", model, params, "val")
                results.append(result)
            return result.evaluation.value(metric, k)

        search(model, trials, wb.settings.seed, objective, grid)
    best = max(results, key=lambda r: r.evaluation.value(metric, k))
    wb.keep_best(best)
    shown = readable_config(best.params)  # 4 significant digits
    wb.say(f"  best {model}: {shown} ({metric}@{k}={best.evaluation.value(metric, k):.4f}, run {best.run_id})")
    return best


def sweep_discovery(wb: Workbench, lambdas=LAMBDAS, penalties=POPULARITY_PENALTIES) -> RunResult:
    """The discovery model's trade-off on val: ALS's top-DISCOVERY_CANDIDATES re-ranked for
    every (lambda, popularity penalty); stores the best val NDCG among the settings whose
    lists meet the discovery targets against ALS's own lists (for at least
    ``discovery_lower_popularity`` of the users, a mean popularity below
    ``discovery_popularity_margin`` times ALS's list's; at most ``discovery_max_overlap`` of 10
    in common). The margin stands in for the served default, which may recommend less popular
    movies than ALS (the two-stage ranker does). ALS is fitted once and its pool drawn once."""
    metric, k = OBJECTIVE
    settings = wb.settings
    base = {**wb.params_for("diverse"), "similarity": DISCOVERY_SIMILARITY, "candidates": DISCOVERY_CANDIDATES}
    results = [
        wb.run("sweep", "diverse", {**base, "lam": lam, "popularity": penalty}, "val")
        for lam in lambdas
        for penalty in penalties
    ]
    plain = [r for r in results if r.params["lam"] == 0.0 and r.params["popularity"] == 0.0]
    if not plain:
        raise ValueError("the discovery sweep needs lambda 0 and popularity 0 (ALS's own lists) among its settings")
    accuracy = plain[0].evaluation  # ALS's own lists: what the targets are measured against
    # every sweep run scores the same val users in the same order, each list's mean popularity
    # already measured by the evaluation
    reference = accuracy.per_user[("popularity", k)]
    points = []
    for r in results:
        popularity = r.evaluation.per_user[("popularity", k)]
        lower = float(np.mean(popularity < settings.discovery_popularity_margin * reference))
        common = float(np.mean(M.overlap(r.evaluation.top.items, accuracy.top.items, k)))
        points.append((r, r.evaluation.value(metric, k), lower, common))
    best, met = choose_discovery(points, settings.discovery_lower_popularity, settings.discovery_max_overlap)
    wb.keep_best(best)
    _, ndcg, lower, common = next(p for p in points if p[0] is best)
    verdict = "meets" if met else "is the nearest to (none meets)"
    wb.say(
        f"  chosen for diverse: lambda={best.params['lam']} popularity={best.params['popularity']} {verdict} the "
        f"discovery targets on val: below {settings.discovery_popularity_margin:g}x the popularity of ALS's list "
        f"for {lower:.0%} of users, {common:.1f} of {k} in "
        f"common; {metric}@{k} {ndcg:.4f} against ALS's {accuracy.value(metric, k):.4f}"
    )
    return best


def sweep_blend(wb: Workbench, weights=BLEND_WEIGHTS, windows=BLEND_WINDOWS) -> RunResult:
    """The popularity weight (and window) of the hybrid on val; weight 0 is plain ALS, so the
    choice beats ALS on val or is ALS. ALS is fitted once and re-scored."""
    metric, k = OBJECTIVE
    base = wb.params_for("hybrid")
    results = [
        wb.run("sweep", "hybrid", {**base, "weight": w, "window_days": window}, "val")
        for window in windows
        for w in weights
        if w > 0 or window == windows[0]  # weight 0 ignores the window: run it once
    ]
    best = max(results, key=lambda r: r.evaluation.value(metric, k))  # first of equals: the smaller weight
    plain = results[0].evaluation.value(metric, k)
    wb.keep_best(best)
    verdict = (
        f"beats plain ALS on val ({metric}@{k} {best.evaluation.value(metric, k):.4f} vs {plain:.4f})"
        if best.params["weight"] > 0
        else "does not beat plain ALS on val: it serves ALS's lists"
    )
    wb.say(f"  chosen for hybrid: weight={best.params['weight']} window_days={best.params['window_days']}; {verdict}")
    return best


#: The re-rankers of the tuned ALS are not searched but swept (their knobs on top of it).
SWEEPS: dict[str, Callable[[Workbench], RunResult]] = {"diverse": sweep_discovery, "hybrid": sweep_blend}


def evaluate_final(wb: Workbench, models: list[str], split: str = "test") -> list[RunResult]:
    """Refit each model's chosen config on train+val and score test, once per model."""
    return [wb.run("evaluate", m, wb.params_for(m), split, save=True) for m in expand(models)]


# -- production ---------------------------------------------------------------------------


def final_configs(
    con: duckdb.DuckDBPyConnection, sql: SqlLibrary, settings: Settings, say: Callable[[str], None] = lambda m: None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """model -> (run id, params) of its newest test evaluation on the configured split; models
    without one are evaluated now (fit on train+val, score test, with the stored configuration)."""
    rows = sql.run(
        con, "warehouse/runs/final_runs.sql", {"strategy": settings.split_strategy, "models": list(MODEL_NAMES)}
    ).fetchall()
    found = {model: (run_id, json.loads(params)) for run_id, model, params, *_ in rows}
    missing = [m for m in MODEL_NAMES if m not in found]
    if missing:
        others = [
            r[0]
            for r in sql.run(
                con, "warehouse/runs/final_strategies.sql", {"strategy": settings.split_strategy}
            ).fetchall()
        ]
        hint = (
            (
                f" (the warehouse has evaluated models for the {' and '.join(others)} split: "
                f"pass --split {others[0].replace('_', '-')} to serve those)"
            )
            if others and not found
            else ""
        )
        say(
            f"  no test evaluation of {', '.join(missing)} on the {settings.split_strategy} split: "
            f"evaluating them now{hint}"
        )
        wb = Workbench(con, sql, settings, say=say)
        for result in evaluate_final(wb, missing):
            found[result.model] = (result.run_id, result.params)
    return found


def production_fit(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    finals: dict[str, tuple[str, dict[str, Any]]],
    say: Callable[[str], None] = lambda m: None,
) -> Production:
    """Refit each model's evaluated configuration on every positive (both sources, all
    parts) and log it as a ``production`` run linked to its evaluation run."""
    wb = Workbench(con, sql, settings, say=say, data=load_production(con, sql, settings.rating_threshold))
    models = {}
    for model in MODEL_NAMES:
        evaluated_run_id, params = finals[model]
        started = time.perf_counter()
        fitted, fit_s = wb.fit(model, params, ALL_PARTS)
        run_id = new_run_id()
        artifact = fitted.save(wb.settings.models_dir / f"{run_id}-{model}.npz").resolve()
        record = RunRecord(
            "production",
            model,
            fitted.params.to_dict(),
            ("all",),
            fit_s,
            time.perf_counter() - started,
            str(artifact),
            evaluated_run_id,
        )
        log_run(con, sql, wb.settings, record, None, run_id=run_id)
        say(
            f"  production {model:8s} fitted on all {wb.data.train.num_rows:,} positives "
            f"({len(wb.data.user_ids):,} users) fit={fit_s:.1f}s run={run_id} (evaluated as {evaluated_run_id})"
        )
        models[model] = ProductionModel(run_id, evaluated_run_id, fitted, artifact)
    return Production(wb.data, models)
