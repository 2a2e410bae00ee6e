"""Model jobs: train (fit on train, score val), tune (val only), sweep, evaluate (refit
on train+val, score test once). Every run is logged in the warehouse."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import scipy.sparse as sp

from recommender.config import Settings
from recommender.evaluation.evaluate import Evaluation, evaluate, item_space
from recommender.evaluation.runlog import RunRecord, best_config, log_run, new_run_id, save_best_config
from recommender.evaluation.tuning import (
    LAMBDAS,
    MAX_NDCG_LOSS,
    SIMILARITIES,
    candidate_configs,
    choose_diverse,
    grid_size,
)
from recommender.models import MODEL_NAMES, MODELS, DiverseALS, DiverseParams, Recommender, create
from recommender.warehouse.connection import SqlLibrary
from recommender.warehouse.export import SplitData, load_item_genres, load_production, load_split

#: The part every positive lands in when the production data is loaded (fit and filter on it).
ALL_PARTS = ("train",)
#: Tuning and lambda choice optimise this metric at this cut-off (on val).
OBJECTIVE = ("ndcg", 10)
FIT_PARTS = {"val": ("train",), "test": ("train", "val")}


@dataclass(frozen=True)
class RunResult:
    run_id: str
    model: str
    params: dict[str, Any]
    evaluation: Evaluation
    fitted: Recommender


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

    # -- configuration ----------------------------------------------------------------
    def params_for(self, model: str) -> dict[str, Any]:
        """The tuned configuration if there is one, else the model's defaults."""
        if model == "diverse":
            tuned = best_config(self.con, self.sql, self.settings, "diverse") or {}
            als = self.params_for("als")
            return {**als, **{k: v for k, v in tuned.items() if k in ("lam", "candidates", "similarity")}}
        return best_config(self.con, self.sql, self.settings, model) or {}

    # -- fitting ----------------------------------------------------------------------
    def fit(self, model: str, params: dict[str, Any], parts: tuple[str, ...]) -> tuple[Recommender, float]:
        """Fit (or reuse a model fitted in this job with the same config and data)."""
        # the canonical form (defaults filled in), so {} and the defaults spelled out share a fit
        canonical = MODELS[model].Params.from_dict(params).to_dict()
        key = (model, json.dumps(canonical, sort_keys=True), parts)
        if key in self._fitted:
            return self._fitted[key], 0.0
        started = time.perf_counter()
        if model == "diverse":
            als, _ = self.fit("als", DiverseParams.from_dict(params).als_params().to_dict(), parts)
            fitted = DiverseALS.from_als(als, params, item_genres=self.item_genres)
        else:
            times = self.data.time_matrix(*parts) if model == "popular" else None
            fitted = create(model, params, seed=self.settings.seed).fit(self.data.matrix(*parts), times=times)
        self._fitted[key] = fitted
        return fitted, time.perf_counter() - started

    def run(self, kind: str, model: str, params: dict[str, Any], eval_part: str, *, save: bool = False) -> RunResult:
        """Fit on the parts before ``eval_part``, score ``eval_part``, log the run."""
        if eval_part not in FIT_PARTS:
            raise ValueError(f"eval_part must be val or test, got {eval_part!r}")
        started = time.perf_counter()
        parts = FIT_PARTS[eval_part]
        fitted, fit_s = self.fit(model, params, parts)
        items = item_space(self.data.matrix(*parts), self.item_genres)
        evaluation = evaluate(
            fitted,
            self.data,
            eval_part,
            parts,
            self.settings.ks,
            items,
            exclude_rated=self.settings.eval_exclude == "rated",
        )
        run_id = new_run_id()
        artifact = None
        if save:
            artifact = str(fitted.save(self.settings.models_dir / f"{run_id}-{model}.npz").resolve())
        record = RunRecord(kind, model, fitted.params.to_dict(), parts, fit_s, time.perf_counter() - started, artifact)
        log_run(self.con, self.sql, self.settings, record, evaluation, run_id=run_id)
        metric, k = OBJECTIVE
        self.say(
            f"  {kind:8s} {model:8s} {eval_part:4s} {metric}@{k}={evaluation.value(metric, k):.4f} "
            f"users={evaluation.n_users} fit={fit_s:.1f}s run={run_id}"
        )
        return RunResult(run_id, model, fitted.params.to_dict(), evaluation, fitted)


# -- jobs -----------------------------------------------------------------------------


def expand(models: str | list[str]) -> list[str]:
    names = list(MODEL_NAMES) if models in ("all", ["all"]) else ([models] if isinstance(models, str) else models)
    return names


def train(wb: Workbench, models: list[str]) -> list[RunResult]:
    """Fit each model on train with its current config, score val, save the artifact."""
    return [wb.run("train", m, wb.params_for(m), "val", save=True) for m in expand(models)]


def tune(wb: Workbench, model: str, trials: int) -> RunResult:
    """Search the model's space on val; store and return the best run."""
    metric, k = OBJECTIVE
    if model == "diverse":
        return sweep_lambda(wb)
    configs = candidate_configs(model, trials, wb.settings.seed)
    grid = grid_size(model)
    of_grid = " (the whole grid)" if len(configs) == grid else f" of {grid}"
    wb.say(f"  tuning {model}: {len(configs)} configuration(s){of_grid}")
    results = [wb.run("tune", model, params, "val") for params in configs]
    best = max(results, key=lambda r: r.evaluation.value(metric, k))
    save_best_config(
        wb.con, wb.sql, wb.settings, model, best.params, best.run_id, metric, k, best.evaluation.value(metric, k)
    )
    wb.say(f"  best {model}: {best.params} ({metric}@{k}={best.evaluation.value(metric, k):.4f}, run {best.run_id})")
    return best


def sweep_lambda(wb: Workbench, lambdas=LAMBDAS, similarities=SIMILARITIES) -> RunResult:
    """The relevance-diversity curves on val (one per similarity); stores the chosen
    (similarity, lambda) as diverse's config. ALS is fitted once and re-ranked."""
    metric, k = OBJECTIVE
    base = wb.params_for("diverse")
    results = [
        wb.run("sweep", "diverse", {**base, "lam": lam, "similarity": sim}, "val")
        for sim in similarities
        for lam in lambdas
    ]
    base_ndcg = next(r.evaluation.value(metric, k) for r in results if r.params["lam"] == 0.0)
    best = choose_diverse(
        [(r, r.evaluation.value(metric, k), r.evaluation.value("diversity", k)) for r in results], base_ndcg
    )
    save_best_config(
        wb.con, wb.sql, wb.settings, "diverse", best.params, best.run_id, metric, k, best.evaluation.value(metric, k)
    )
    wb.say(
        f"  chosen for diverse: similarity={best.params['similarity']} lambda={best.params['lam']} "
        f"(most diverse on val within {MAX_NDCG_LOSS:.0%} of ALS's {metric}@{k})"
    )
    return best


def evaluate_final(wb: Workbench, models: list[str], split: str = "test") -> list[RunResult]:
    """Refit each model's chosen config on train+val and score test, once per model."""
    return [wb.run("evaluate", m, wb.params_for(m), split, save=True) for m in expand(models)]


# -- production ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductionModel:
    run_id: str  # the production run (kind 'production', fitted on every positive)
    evaluated_run_id: str  # the test evaluation whose configuration it refits and numbers it publishes
    fitted: Recommender


@dataclass(frozen=True)
class Production:
    """What serving is built from: every rating as of the last split build, and each model's
    evaluated configuration refitted on all of it. ``history`` (every positive) is what the
    models score from; ``exclude`` (every rated movie, any value) is what no list may hold."""

    data: SplitData
    models: dict[str, ProductionModel]

    @property
    def history(self) -> sp.csr_matrix:
        return self.data.matrix(*ALL_PARTS)

    @property
    def exclude(self) -> sp.csr_matrix:
        return self.data.excluded(*ALL_PARTS)


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
        artifact = str(fitted.save(wb.settings.models_dir / f"{run_id}-{model}.npz").resolve())
        record = RunRecord(
            "production",
            model,
            fitted.params.to_dict(),
            ("all",),
            fit_s,
            time.perf_counter() - started,
            artifact,
            evaluated_run_id,
        )
        log_run(con, sql, wb.settings, record, None, run_id=run_id)
        say(
            f"  production {model:8s} fitted on all {wb.data.train.num_rows:,} positives "
            f"({len(wb.data.user_ids):,} users) fit={fit_s:.1f}s run={run_id} (evaluated as {evaluated_run_id})"
        )
        models[model] = ProductionModel(run_id, evaluated_run_id, fitted)
    return Production(wb.data, models)
