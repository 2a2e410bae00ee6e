"""Writing runs, their metrics and per-user values to DuckDB."""

from __future__ import annotations

import functools
import hashlib
import json
import resource
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from recommender import __version__
from recommender.config import REPO_ROOT, Settings
from recommender.evaluation.evaluate import Evaluation
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.connection import insert_arrow, transaction


@dataclass(frozen=True)
class RunRecord:
    """What a run is, beyond its numbers."""

    kind: str  # train | tune | evaluate | sweep
    model: str
    params: dict[str, Any]
    fit_parts: tuple[str, ...]
    fit_s: float
    total_s: float
    artifact: str | None = None
    #: For a production fit: the evaluation run whose configuration it refits.
    evaluated_run_id: str | None = None


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@functools.cache
def code_version() -> str:
    """Git commit of the checkout (with -dirty), else the package version."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return __version__


def data_hash(con: duckdb.DuckDBPyConnection, sql: SqlLibrary) -> str:
    rows = sql.run(con, "warehouse/runs/data_hash.sql").fetchall()
    return hashlib.sha256("".join(f"{source}:{state};" for source, state in rows).encode()).hexdigest()[:16]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log_run(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    record: RunRecord,
    evaluation: Evaluation | None,
    *,
    run_id: str | None = None,
) -> str:
    """Insert one run with its summary metrics and per-user values, in one transaction.

    ``evaluation`` None: a production fit (``record.kind == 'production'``), scored on nothing."""
    run_id = run_id or new_run_id()
    timings = evaluation.timings if evaluation is not None else {}
    with transaction(con):
        sql.run(
            con,
            "warehouse/runs/insert_run.sql",
            {
                "run_id": run_id,
                "kind": record.kind,
                "model": record.model,
                "params": json.dumps(record.params),
                "split_strategy": settings.split_strategy if evaluation is not None else "all",
                "eval_split": evaluation.part if evaluation is not None else None,
                "fit_parts": "+".join(record.fit_parts),
                "data_hash": data_hash(con, sql),
                "code_version": code_version(),
                "seed": settings.seed,
                "fit_s": record.fit_s,
                "recommend_s": timings.get("recommend_s"),
                "metrics_s": timings.get("metrics_s"),
                "total_s": record.total_s,
                "peak_rss_mb": peak_rss_mb(),
                "n_users": evaluation.n_users if evaluation is not None else None,
                "artifact": record.artifact,
                "settings": settings.as_json(),
                "evaluated_run_id": record.evaluated_run_id,
            },
        )
        if evaluation is None:
            return run_id
        values = evaluation.summary()
        summary = pa.table(
            {
                "run_id": [run_id] * len(values),
                "split": [evaluation.part] * len(values),
                "k": [k for (_, k) in values],
                "metric": [m for (m, _) in values],
                "value": list(values.values()),
                "n_users": [evaluation.n_users] * len(values),
            }
        )
        insert_arrow(con, "run_metrics", summary)
        insert_arrow(con, "run_user_metrics", _per_user_table(run_id, evaluation))
    return run_id


def _per_user_table(run_id: str, evaluation: Evaluation) -> pa.Table:
    n = evaluation.n_users
    keys = list(evaluation.per_user)
    values = np.concatenate([evaluation.per_user[key] for key in keys]) if keys else np.array([])
    return pa.table(
        {
            "run_id": pa.array([run_id] * (n * len(keys)), pa.string()),
            "split": pa.array([evaluation.part] * (n * len(keys)), pa.string()),
            "k": pa.array(np.repeat([k for _, k in keys], n).astype(np.int32)),
            "metric": pa.array(np.repeat([m for m, _ in keys], n)),
            "user_id": pa.array(np.tile(evaluation.user_ids, len(keys)).astype(np.int32)),
            "value": pa.array(values.astype(np.float64)),
        }
    )


@dataclass(frozen=True)
class ChosenConfig:
    """A model's configuration chosen on val: its parameters, the run that scored them, and
    the score (``metric``@``k`` = ``value``) it was chosen by."""

    model: str
    params: dict
    run_id: str
    metric: str
    k: int
    value: float


def save_best_config(con, sql: SqlLibrary, settings: Settings, chosen: ChosenConfig) -> None:
    """Store ``chosen`` as the model's configuration for ``settings``' split (`best_config` reads it)."""
    sql.run(
        con,
        "warehouse/runs/save_config.sql",
        {
            "model": chosen.model,
            "params": json.dumps(chosen.params),
            "source_run_id": chosen.run_id,
            "split_strategy": settings.split_strategy,
            "metric": chosen.metric,
            "k": chosen.k,
            "value": chosen.value,
        },
    )


def best_config(con, sql: SqlLibrary, settings: Settings, model: str) -> dict | None:
    rows = sql.run(
        con, "warehouse/runs/best_config.sql", {"model": model, "strategy": settings.base_strategy}
    ).fetchall()
    return json.loads(rows[0][0]) if rows else None


#: Parts of a run's logged parameters the report shows in their own sections, not in the
#: configuration line (the ranker's feature importance, cross-validation and candidate recall),
#: or that describe the run rather than the configuration (the ranker's test-user cap).
NOT_CONFIGURATION = ("importance", "val_cv_ndcg", "candidate_recall", "test_users_sampled")


def readable_config(params: str | Mapping[str, Any]) -> str:
    """A run's logged configuration (JSON) as a person reads it: numbers to 4 significant
    digits, without the parts shown elsewhere."""

    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.4g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    config = json.loads(params) if isinstance(params, str) else dict(params)
    return json.dumps({k: rounded(v) for k, v in config.items() if k not in NOT_CONFIGURATION})
