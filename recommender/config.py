"""One typed settings object, built from defaults < a TOML config file (./recsys.toml, or the
one RECSYS_CONFIG or --config names) < environment (``RECSYS_*``) < CLI flags.

The same object is passed down to every stage; nothing reads the environment elsewhere (but
the server settings, read the same way from the same sources, and the crash tests'
RECSYS_FAILPOINT). Values are read as their fields' types by pydantic.
Every job records ``Settings.as_record()`` in the warehouse so a number can be traced
back to the values that produced it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from recommender.errors import RecsysError

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The versioned SQL: the repository's sql/ in a checkout, recommender/sql in an installed wheel.
SQL_DIR = (
    REPO_ROOT / "sql"
    if (REPO_ROOT / "sql" / "warehouse" / "migrations").is_dir()
    else Path(__file__).resolve().parent / "sql"
)

#: The temporal splits, then the protocols of published results (docs/evaluation.md).
SPLIT_STRATEGIES = ("global", "per_user", "random", "crossfold")
#: The strategies evaluated on several folds: cut-offs (per_user) or user partitions (crossfold).
FOLDED_STRATEGIES = ("per_user", "crossfold")
HOLDOUT_UNITS = ("count", "fraction")
EVAL_EXCLUDES = ("rated", "positives")
ALS_ENGINES = ("implicit", "spark")
ALS_DEVICES = ("cpu", "gpu")


class ConfigError(RecsysError):
    """A setting has an unknown name or a value outside its documented range."""

    label = "configuration error"


@dataclass(frozen=True, config=ConfigDict(use_attribute_docstrings=True, extra="forbid"))
class Settings:
    """Everything a job needs to know; immutable, so it can be shared freely. Each field's
    docstring is its one line in the docs' configuration table (`recsys config --markdown`).

    Paths are relative to the current directory unless absolute.
    """

    warehouse: Path = Path("warehouse/movielens.duckdb")
    """DuckDB warehouse file (raw tables, views, splits, run log)."""
    data_dir: Path = Path("data/raw")
    """Where `recsys download` unpacks data sets."""
    sql_dir: Path = SQL_DIR
    """The versioned SQL's folder (sql/ of a checkout, recommender/sql in a wheel)."""
    rating_threshold: float = 4.0
    """A rating at or above it is a positive (implicit feedback)."""
    split_strategy: str = "per_user"
    """`per_user` (each user's latest positives held out), `global` (one cut-off), `random` or `crossfold`."""
    val_quantile: float = 0.8
    """Global split: the quantile of positive timestamps where validation starts."""
    test_quantile: float = 0.9
    """Global split: the quantile of positive timestamps where test starts."""
    val_start: str | None = None
    """Global split: an ISO date where validation starts, instead of the quantile (with `test_start`)."""
    test_start: str | None = None
    """Global split: an ISO date where test starts, instead of the quantile (with `val_start`)."""
    holdout_unit: str = "fraction"
    """Per-user, random and crossfold splits: hold out a `count` of positives or a `fraction` (at least one)."""
    holdout_val: float = 0.1
    """Per-user, random and crossfold splits: what each user's val part holds (a count or a fraction)."""
    holdout_test: float = 0.1
    """Per-user, random and crossfold splits: what each user's test part holds (a count or a fraction)."""
    recent_days: int = 365
    """The "recent" popularity window, in days before the newest train interaction."""
    seed: int = 42
    """The seed of every random choice (model init, tuning samples, bootstrap)."""
    eval_exclude: str = "rated"
    """What evaluation leaves out of the candidates: every `rated` movie (as serving does) or the `positives`."""
    tune_users: int | None = 10_000
    """Tuning fits and scores on a seeded sample of this many users when the split has more (`all`: everyone)."""
    test_users: int | None = 20_000
    """Test scores one seeded sample of this many users for every model when the split has more (`all`: everyone)."""
    ks: tuple[int, ...] = (5, 10, 20)
    """The cut-offs K evaluated and logged (comma-separated)."""
    threads: int | None = None
    """Threads of a job's DuckDB, LightGBM and implicit (ALS, ItemKNN) (unset: every core)."""
    duckdb_memory: str = "2GB"
    """DuckDB's memory limit (it spills to disk beyond it)."""
    artifacts_dir: Path | None = None
    """Model artefacts and serving versions (unset: beside the warehouse)."""
    serving_keep: int = 3
    """Serving versions kept on disk: the active one and those before it, for rollback."""
    als_engine: str = "implicit"
    """Where ALS is fitted: `implicit` in this process, or `spark` (Spark MLlib)."""
    als_device: str = "cpu"
    """`cpu`, or `gpu`: implicit's CUDA ALS (the implicit engine only)."""
    spark_master: str = "local[*]"
    """The Spark master for the spark engine."""
    spark_data: Path | None = None
    """Where the Parquet input for Spark goes (shared storage for a cluster; unset: a temporary folder)."""
    ranker_precompute_users: int = 50_000
    """Versions with at most this many users hold precomputed ranker lists; more (or 0): scored at request time."""
    folds: int = 1
    """Rolling-origin folds of the per-user split evaluated (1: the split itself)."""
    partitions: int = 0
    """Crossfold split: the user partitions, each evaluated in turn (at least 2; 0 for the other splits)."""
    ranker_label_windows: int = 2
    """Val windows the two-stage ranker learns from: its own fold's and the cut-offs before it."""
    ranker_train_users: int = 2_000
    """Val users of each window the ranker's booster learns from (a seeded sample when there are more)."""
    ranker_cv_folds: int = 2
    """Folds of those users whose cross-validation chooses the booster's setting and rounds."""
    als_max_iterations: int = 20
    """ALS tuning fits 5 iterations at a time and stops here, or earlier once val stops improving."""
    itemknn_max_similarities: int = 12_000_000
    """ItemKNN tuning tries only the neighbour counts whose similarities (items x neighbours) stay within it."""
    discovery_lower_popularity: float = 0.9
    """The discovery list's target: the share of users whose list is less popular on average than the accuracy list."""
    discovery_max_overlap: float = 4.0
    """The discovery list's target: at most this many of its 10 movies, on average, also in the accuracy list."""
    discovery_popularity_margin: float = 0.7
    """On val, the discovery list counts as less popular only below this share of ALS's list's mean popularity."""

    @field_validator("tune_users", "test_users", "threads", mode="before")
    @classmethod
    def _everyone(cls, value: Any) -> Any:
        """`all` or `none` (any case): unset, that is, every user or every core."""
        return None if isinstance(value, str) and value.strip().lower() in ("all", "none") else value

    @field_validator("val_start", "test_start", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        """A TOML date (unquoted) as its ISO text."""
        return value.isoformat() if isinstance(value, datetime.date) else value

    @field_validator("ks", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value

    def __post_init__(self) -> None:
        if self.base_strategy not in SPLIT_STRATEGIES or (
            self.fold > 1 and self.base_strategy not in FOLDED_STRATEGIES
        ):
            raise ConfigError(f"split_strategy must be one of {SPLIT_STRATEGIES}, got {self.split_strategy!r}")
        if self.partitions < 0 or self.partitions == 1:
            raise ConfigError(f"partitions must be 0 (none) or at least 2, got {self.partitions}")
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
        held = self.holdout_val + self.holdout_test
        if self.holdout_unit == "fraction" and held >= 1.0:
            raise ConfigError(f"holdout_val + holdout_test must leave a train part (< 1), got {held:g}")
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
        for name in ("ranker_train_users", "als_max_iterations", "itemknn_max_similarities"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.ranker_cv_folds < 2:
            raise ConfigError(f"ranker_cv_folds must be at least 2, got {self.ranker_cv_folds}")
        if not 0.0 <= self.discovery_lower_popularity <= 1.0:
            raise ConfigError(f"discovery_lower_popularity must be within 0..1, got {self.discovery_lower_popularity}")
        if not 0.0 < self.discovery_popularity_margin <= 1.0:
            raise ConfigError(
                f"discovery_popularity_margin must be within 0..1, got {self.discovery_popularity_margin}"
            )
        if not 0.0 <= self.discovery_max_overlap <= 10.0:
            raise ConfigError(f"discovery_max_overlap must be within 0..10, got {self.discovery_max_overlap}")

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
    def build(cls, **values: Any) -> Settings:
        """Settings from these values (text is read as each field's type); ConfigError names
        the setting a value does not fit."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(explain(exc)) from None

    @classmethod
    def from_sources(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults < the config file < ``RECSYS_<NAME>`` environment variables < ``overrides``
        (the flags); see ``resolve``."""
        return cls.resolve(overrides, environ)[0]

    @classmethod
    def resolve(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> tuple[Settings, dict[str, str]]:
        """(the settings, where each one that is not a default came from: the config file's
        path, its environment variable or "flag"). ``None`` in ``overrides`` means "not
        given"; unknown names are refused, in the file as in ``overrides``. ``environ``: the
        process environment unless given (given, it names its own config file or none)."""
        env = os.environ if environ is None else environ
        path = config_file(environ)
        in_file = {k: v for k, v in read_config_file(path).items() if k != SERVER_TABLE}
        values, origin = layer_sources([f.name for f in fields(cls)], in_file, path, env, overrides)
        return cls.build(**values), origin

    def replace(self, **changes: Any) -> Settings:
        try:
            return dataclasses.replace(self, **changes)
        except ValidationError as exc:
            raise ConfigError(explain(exc)) from None

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
                if f.default is not None:  # unset where the default is set: "all" / "none"
                    out[env_name(f.name)] = "none"
                continue
            out[env_name(f.name)] = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
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

    @property
    def fold_count(self) -> int:
        """The folds a job evaluates: the crossfold's partitions, else the per-user split's cut-offs."""
        return max(self.partitions, 1) if self.base_strategy == "crossfold" else self.folds

    def require_partitions(self) -> None:
        """Building the crossfold split needs its partitions (reading its runs does not)."""
        if self.base_strategy == "crossfold" and self.partitions < 2:
            raise ConfigError("the crossfold split needs --partitions K (at least 2)")

    def fold_settings(self) -> list[Settings]:
        """These settings for each fold, the split itself first."""
        return [self] + [
            self.replace(split_strategy=f"{self.base_strategy}/{f}") for f in range(2, self.fold_count + 1)
        ]

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


#: The config file read when the environment names none (RECSYS_CONFIG, set by --config too).
CONFIG_FILE = Path("recsys.toml")
#: The table of a config file that holds the server's settings.
SERVER_TABLE = "server"


def env_name(setting: str) -> str:
    """The environment variable of a setting."""
    return f"RECSYS_{setting.upper()}"


def config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The TOML file settings are read from: the one ``RECSYS_CONFIG`` names (`none`: no file),
    else ./recsys.toml where it exists, but only for the process environment (``environ``
    None): an explicit environment names its own file or has none."""
    env = os.environ if environ is None else environ
    named = env.get("RECSYS_CONFIG", "").strip()
    if named:
        if named.lower() == "none":
            return None
        if not Path(named).is_file():
            raise ConfigError(f"RECSYS_CONFIG names {named}, which is not a file")
        return Path(named)
    return CONFIG_FILE if environ is None and CONFIG_FILE.is_file() else None


def read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def layer_sources(
    names: list[str],
    in_file: Mapping[str, Any],
    path: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None,
    env_names: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, where each came from) of the settings ``names``: the config file's, then the
    environment's (``env_names``: a setting's variable where it is not ``env_name``), then the
    flags'; an empty variable or a None flag is not given."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    unknown = sorted(set(in_file) - set(names))
    if unknown:
        noun = "setting" if len(unknown) == 1 else "settings"
        raise ConfigError(f"{path}: unknown {noun} {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    for name in names:
        if name in in_file:
            values[name], origin[name] = in_file[name], str(path)
        variable = (env_names or {}).get(name, env_name(name))
        if environ.get(variable, ""):
            values[name], origin[name] = environ[variable], variable
    for name, value in (overrides or {}).items():
        if name not in names:
            raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(names))}")
        if value is not None:
            values[name], origin[name] = value, "flag"
    return values, origin


#: Settings whose value an error message never repeats (a key, a URL with a password).
SECRETS = ("admin_key", "feedback_url")


def explain(exc: ValidationError) -> str:
    """A validation error as one line that names each setting and the value refused."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        if error["type"] == "unexpected_keyword_argument":
            parts.append(f"unknown setting {name!r}")
        else:
            shown = "the value given" if name in SECRETS else repr(error["input"])
            parts.append(f"setting {name}: cannot read {shown} ({error['msg']})")
    return "; ".join(parts)
