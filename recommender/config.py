"""One typed settings object, built from defaults < environment (``RECSYS_*``) < CLI flags.

The same object is passed down to every stage; nothing reads the environment elsewhere (but
the server settings, read the same way, and the crash tests' RECSYS_FAILPOINT).
Every job records ``Settings.as_record()`` in the warehouse so a number can be traced
back to the values that produced it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from recommender.errors import RecsysError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The versioned SQL: the repository's sql/ in a checkout, recommender/sql in an installed wheel.
SQL_DIR = (
    REPO_ROOT / "sql"
    if (REPO_ROOT / "sql" / "warehouse" / "migrations").is_dir()
    else Path(__file__).resolve().parent / "sql"
)

SPLIT_STRATEGIES = ("global", "per_user")
HOLDOUT_UNITS = ("count", "fraction")
EVAL_EXCLUDES = ("rated", "positives")
ALS_ENGINES = ("implicit", "spark")
ALS_DEVICES = ("cpu", "gpu")


class ConfigError(RecsysError, ValueError):
    """A setting has an unknown name or a value outside its documented range."""

    label = "configuration error"


@dataclass(frozen=True)
class Settings:
    """Everything a job needs to know; immutable, so it can be shared freely.

    Paths are relative to the current directory unless absolute.
    """

    #: DuckDB warehouse file (raw tables, views, splits, run log).
    warehouse: Path = Path("warehouse/movielens.duckdb")
    #: Where ``recsys download`` unpacks data sets (``DATA_DIR/ml-latest-small``).
    data_dir: Path = Path("data/raw")
    #: Folder of the versioned SQL (migrations, ingest, splits, checks).
    sql_dir: Path = SQL_DIR
    #: A rating >= this counts as positive implicit feedback.
    rating_threshold: float = 4.0
    #: ``per_user`` (each user's latest positives are held out: every user is evaluated) or
    #: ``global`` (one time cut-off for everybody: the leakage-strict protocol, but on a small
    #: data set only the users active after the cut-off are evaluated).
    split_strategy: str = "per_user"
    #: Global split: quantile of positive timestamps where validation starts / test starts.
    val_quantile: float = 0.8
    test_quantile: float = 0.9
    #: Global split: explicit ISO dates overriding the quantiles (both or neither).
    val_start: str | None = None
    test_start: str | None = None
    #: Per-user split: ``count`` (last N positives) or ``fraction`` (last share, at least one).
    holdout_unit: str = "fraction"
    holdout_val: float = 0.1
    holdout_test: float = 0.1
    #: Window for the "recent" popularity count, in days before the newest train interaction.
    recent_days: int = 365
    #: Seed for every random choice (model init, tuning samples, bootstrap).
    seed: int = 42
    #: What evaluation leaves out of a user's candidates: ``rated`` (every movie rated before
    #: the cut-off, at any value: what serving does) or ``positives`` (only the history
    #: positives). Serving always leaves out everything a user rated.
    eval_exclude: str = "rated"
    #: Tuning and sweeps fit and score on a seeded sample of this many users when the split
    #: has more (the final evaluation and the production fit use everyone); None: everyone.
    tune_users: int | None = 10_000
    #: Evaluation on test scores a seeded sample of this many of the test users when the split
    #: has more (the same users for every model, the ranker included, so differences are
    #: paired); None: everyone. 20,000 users give NDCG@10 intervals of about +-0.003.
    test_users: int | None = 20_000
    #: Cut-offs evaluated and logged.
    ks: tuple[int, ...] = (5, 10, 20)
    #: DuckDB threads (None: DuckDB's default, all cores).
    threads: int | None = None
    #: DuckDB's own memory limit (it spills to disk beyond it); its default, 80% of RAM, lets
    #: its buffer pool hold gigabytes next to the models.
    duckdb_memory: str = "2GB"
    #: Models artefacts and serving files live beside the warehouse unless set.
    artifacts_dir: Path | None = None
    #: Published serving versions kept on disk (the newest, which is active, and the ones
    #: before it for rollback); older version folders are deleted after each publication.
    serving_keep: int = 3
    #: Where ALS's factors are fitted (the final, production and re-rankers' fits; tuning's
    #: stepped trials always run on implicit): ``implicit`` in process, or ``spark`` (Spark
    #: MLlib, on ``spark_master``; the training matrix goes through Parquet in ``spark_data``).
    als_engine: str = "implicit"
    #: ``cpu``, or ``gpu``: implicit's CUDA ALS (the implicit engine only).
    als_device: str = "cpu"
    spark_master: str = "local[*]"
    #: Where the Parquet export for Spark goes (shared storage for a cluster); None: a temporary folder.
    spark_data: Path | None = None
    #: A published version holds the two-stage ranker's lists for every user, like every other
    #: model's, when it has at most this many users; above it (and with 0) they are scored at
    #: request time. Its lists cost about 2.2 ms per user on 2 cores (benchmarks/
    #: bench_ranker_lists.py): 50,000 users add about 2 minutes, the 25M-shaped data's 162,541 six.
    ranker_precompute_users: int = 50_000
    #: Rolling-origin folds of the per-user split evaluated by `recsys run` / `recsys evaluate`
    #: (1: the split itself). Fold f is the split strategy ``per_user/f`` (see 015_folds.sql).
    folds: int = 1
    #: Val windows the two-stage ranker learns from: its own fold's and those of the next
    #: folds back (built for it: folds up to ``folds + ranker_label_windows - 1`` exist).
    ranker_label_windows: int = 2

    def __post_init__(self) -> None:
        if self.base_strategy not in SPLIT_STRATEGIES or (self.fold > 1 and self.base_strategy != "per_user"):
            raise ConfigError(f"split_strategy must be one of {SPLIT_STRATEGIES}, got {self.split_strategy!r}")
        if self.folds < 1:
            raise ConfigError(f"folds must be at least 1, got {self.folds}")
        if self.ranker_label_windows < 1:
            raise ConfigError(f"ranker_label_windows must be at least 1, got {self.ranker_label_windows}")
        if self.folds > 1 and self.base_strategy != "per_user":
            raise ConfigError("folds are cut-offs of the per-user split: use --split per-user with --folds")
        if self.holdout_unit not in HOLDOUT_UNITS:
            raise ConfigError(f"holdout_unit must be one of {HOLDOUT_UNITS}, got {self.holdout_unit!r}")
        if self.eval_exclude not in EVAL_EXCLUDES:
            raise ConfigError(f"eval_exclude must be one of {EVAL_EXCLUDES}, got {self.eval_exclude!r}")
        check_als_engine(self.als_engine, self.als_device)
        if self.serving_keep < 1:
            raise ConfigError(f"serving_keep must be at least 1 (the active version), got {self.serving_keep}")
        if not 0.5 <= self.rating_threshold <= 5.0:
            raise ConfigError(f"rating_threshold must be within 0.5..5.0, got {self.rating_threshold}")
        if not 0.0 < self.val_quantile < self.test_quantile < 1.0:
            raise ConfigError("quantiles must satisfy 0 < val_quantile < test_quantile < 1")
        if (self.val_start is None) != (self.test_start is None):
            raise ConfigError("set both val_start and test_start, or neither")
        if (
            self.val_start is not None and self.test_start is not None and self.val_start >= self.test_start
        ):  # ISO dates sort as text
            raise ConfigError("val_start must be before test_start")
        for name in ("holdout_val", "holdout_test"):
            value = getattr(self, name)
            if self.holdout_unit == "fraction" and not 0.0 < value < 1.0:
                raise ConfigError(f"{name} must be a fraction in (0, 1) when holdout_unit=fraction")
            if self.holdout_unit == "count" and (value < 1 or value != int(value)):
                raise ConfigError(f"{name} must be a whole number >= 1 when holdout_unit=count")
        if not self.ks or any(k <= 0 for k in self.ks):
            raise ConfigError("ks must be positive cut-offs")
        if self.tune_users is not None and self.tune_users < 100:
            raise ConfigError(f"tune_users must be at least 100 (or unset for every user), got {self.tune_users}")
        if self.test_users is not None and self.test_users < 100:
            raise ConfigError(f"test_users must be at least 100 (or unset for every user), got {self.test_users}")
        if self.ranker_precompute_users < 0:
            raise ConfigError(f"ranker_precompute_users must be 0 or more, got {self.ranker_precompute_users}")
        if self.recent_days <= 0:
            raise ConfigError("recent_days must be positive")

    # -- derived locations ------------------------------------------------------------
    @property
    def artifacts_root(self) -> Path:
        return self.artifacts_dir or self.warehouse.parent

    @property
    def models_dir(self) -> Path:
        return self.artifacts_root / "models"

    @property
    def serving_dir(self) -> Path:
        return self.artifacts_root / "serving"

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_sources(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then ``RECSYS_<FIELD>`` environment variables, then ``overrides`` (CLI flags).

        ``None`` values in ``overrides`` mean "not given" and are ignored; unknown keys are refused.
        """
        environ = os.environ if environ is None else environ
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, f in known.items():
            raw = environ.get(f"RECSYS_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = _coerce(name, f.type, raw)
        for name, value in (overrides or {}).items():
            if name not in known:
                raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(known))}")
            if value is not None:
                values[name] = _coerce(name, known[name].type, value)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def as_record(self) -> dict[str, Any]:
        """JSON-ready dict of every setting (what a run records)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out

    def as_environ(self) -> dict[str, str]:
        """These settings as ``RECSYS_*`` variables that ``from_sources`` reads back to an equal
        object (how `recsys serve --workers N` hands them to its worker processes)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                if str(f.type).startswith("int | None"):
                    out[f"RECSYS_{f.name.upper()}"] = "none"
                continue  # the other optional fields default to None
            text = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
            out[f"RECSYS_{f.name.upper()}"] = text
        return out

    @property
    def base_strategy(self) -> str:
        """The split a fold belongs to: ``per_user`` for ``per_user/3``."""
        return self.split_strategy.split("/")[0]

    @property
    def fold(self) -> int:
        """Which rolling-origin fold ``split_strategy`` is (1: the split itself)."""
        _, _, number = self.split_strategy.partition("/")
        try:
            return int(number) if number else 1
        except ValueError:
            raise ConfigError(
                f"split_strategy must be one of {SPLIT_STRATEGIES}, got {self.split_strategy!r}"
            ) from None

    def fold_settings(self) -> list[Settings]:
        """These settings for each fold, the split itself first."""
        return [self] + [self.replace(split_strategy=f"{self.base_strategy}/{f}") for f in range(2, self.folds + 1)]

    @property
    def job_threads(self) -> int:
        """The threads a job's own computations use (LightGBM's training and batch scoring):
        ``threads``, else every core this process may run on."""
        if self.threads:
            return self.threads
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # not on macOS
        return cores or 1

    def as_json(self) -> str:
        return json.dumps(self.as_record(), sort_keys=True)


def check_als_engine(engine: str, device: str) -> None:
    """Where ALS may be fitted: ``implicit`` on the CPU or the GPU, or ``spark``."""
    if engine not in ALS_ENGINES:
        raise ConfigError(f"als_engine must be one of {ALS_ENGINES}, got {engine!r}")
    if device not in ALS_DEVICES:
        raise ConfigError(f"als_device must be one of {ALS_DEVICES}, got {device!r}")
    if device == "gpu" and engine != "implicit":
        raise ConfigError("the GPU runs implicit's CUDA ALS: --device gpu does not combine with --engine spark")


def _coerce(name: str, type_name: Any, raw: Any) -> Any:
    """Turn text from the environment / CLI into the field's type."""
    t = str(type_name)
    try:
        if isinstance(raw, str):
            if t.startswith("Path"):
                return Path(raw)
            if t.startswith("int | None") and raw.strip().lower() in ("none", "all"):
                return None
            if t.startswith("int"):
                return int(raw)
            if t.startswith("float"):
                return float(raw)
            if t.startswith("tuple"):
                return tuple(int(x) for x in raw.split(",") if x.strip())
            if t.startswith("str"):
                return raw
        if t.startswith("Path") and raw is not None:
            return Path(raw)
        if t.startswith("tuple"):
            return tuple(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"setting {name}: cannot read {raw!r} as {t}") from exc
