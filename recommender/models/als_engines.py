"""Where ALS's factors are fitted: `implicit` on the CPU (the default), `implicit`'s CUDA ALS
on a GPU, or Spark MLlib's ALS on a Spark cluster (or in local mode).

Whatever fits them, the factors come back as numpy arrays into the same ``ALS`` class, so
evaluation, precompute and serving never know which engine ran. Id space: rows and columns
of the user x item matrix (indices), in and out; Spark sees them as its integer ids.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recommender.config import check_als_engine
from recommender.errors import UserFacingError

log = logging.getLogger("recsys.engines")

if TYPE_CHECKING:
    from recommender.models.als import ALSParams

#: Known-good CUDA 13 pins for implicit's GPU ALS (with librmm 26.10 implicit imports but
#: silently reports no CUDA): what the refusal message and the docs (scaling-out) name.
GPU_PINS = 'implicit==0.7.3 "rmm-cu13==26.4.*" "librmm-cu13==26.4.*" "rapids-logger==0.2.*"'


class EngineError(UserFacingError):
    """An ALS engine that cannot run here (no CUDA, no pyspark, no Java)."""


@dataclass(frozen=True)
class ALSEngine:
    #: ``implicit`` (in process) or ``spark`` (Spark MLlib ALS, ``implicitPrefs=True``).
    name: str = "implicit"
    #: ``cpu`` or ``gpu`` (implicit's CUDA ALS; the implicit engine only).
    device: str = "cpu"
    #: Spark master URL: ``local[*]`` (in process, every core), ``spark://host:7077``, ...
    spark_master: str = "local[*]"
    #: Folder the training matrix is exported to as Parquet for Spark: on a cluster, storage
    #: every executor can read (NFS, a mounted bucket); None: a temporary folder (local mode).
    spark_data: Path | None = None
    #: Memory of the Spark driver (local mode: the whole fit runs there).
    spark_driver_memory: str = "4g"

    def __post_init__(self) -> None:
        check_als_engine(self.name, self.device)

    @property
    def default(self) -> bool:
        return self.name == "implicit" and self.device == "cpu"

    @classmethod
    def of(cls, settings) -> ALSEngine:
        """The engine a job's settings name."""
        return cls(settings.als_engine, settings.als_device, settings.spark_master, settings.spark_data)

    def check(self) -> None:
        """Refuse, in one line, an engine this machine cannot run (before any work starts)."""
        if self.device == "gpu":
            try:
                import implicit.gpu
            except ImportError as exc:  # pragma: no cover - implicit is a core dependency
                raise EngineError(f"--device gpu: implicit is not importable ({exc})") from exc
            if not implicit.gpu.HAS_CUDA:
                raise EngineError(
                    "--device gpu: implicit reports no CUDA here (no GPU, or an implicit build without CUDA; "
                    f"known-good for CUDA 13: pip install {GPU_PINS})"
                )
        if self.name == "spark":
            try:
                import pyspark  # noqa: F401
            except ImportError as exc:
                raise EngineError('--engine spark needs pyspark: pip install -e ".[spark]" (and Java 17)') from exc
            if shutil.which("java") is None and not _java_home():
                raise EngineError("--engine spark needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)")

    def fit(self, user_items: sp.csr_matrix, params: ALSParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(user_factors (n_users, factors), item_factors (n_items, factors)) float32 fitted on
        the binary user x item matrix."""
        self.check()
        if self.name == "spark":
            return _fit_spark(self, user_items, params, seed)
        return _fit_gpu(user_items, params, seed)


def _fit_gpu(user_items: sp.csr_matrix, params: ALSParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from implicit.gpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=params.alpha,
        iterations=params.iterations,
        random_state=seed,
    )
    model.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=False)
    cpu = model.to_cpu()  # the rest of the pipeline scores on the CPU
    return np.asarray(cpu.user_factors, np.float32), np.asarray(cpu.item_factors, np.float32)


def _fit_spark(
    engine: ALSEngine, user_items: sp.csr_matrix, params: ALSParams, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Export the matrix as Parquet, fit ``pyspark.ml.recommendation.ALS`` on it, read the
    factors back. The configuration is mapped (``spark_params``): factors -> rank,
    iterations -> maxIter, and regularization and alpha converted to Spark's definitions."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import SparkSession

    coo = sp.coo_matrix(user_items)
    table = pa.table(
        {
            "user": coo.row.astype(np.int32),
            "item": coo.col.astype(np.int32),
            "value": np.ones(coo.nnz, np.float32),  # binary positives, as implicit sees them
        }
    )
    own_folder = engine.spark_data is None
    # absolute: executors and Hadoop's file system resolve a relative path their own way
    spark_data = engine.spark_data
    folder = Path(tempfile.mkdtemp(prefix="recsys-spark-")) if spark_data is None else Path(spark_data).resolve()
    name = uuid.uuid4().hex[:12]
    path, checkpoints = folder / f"interactions-{name}.parquet", folder / f"checkpoints-{name}"
    running = SparkSession.getActiveSession()  # a caller's session is used, and left running
    spark = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        spark = running or (
            SparkSession.builder.master(engine.spark_master)
            .appName("recsys-als")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # no progress bars in a job's log
            .config("spark.driver.memory", engine.spark_driver_memory)
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        # ALS's lineage grows with every iteration: past about 15 the driver's stack overflows
        # (tuning may choose 20) unless it is cut by checkpoints, which go beside the export
        spark.sparkContext.setCheckpointDir(str(checkpoints))
        ratings = spark.read.parquet(str(path))
        model = SparkALS(
            **spark_params(params, user_items),
            implicitPrefs=True,
            userCol="user",
            itemCol="item",
            ratingCol="value",
            seed=seed,
            checkpointInterval=CHECKPOINT_EVERY,
        ).fit(ratings)
        users = _factor_matrix(model.userFactors.toArrow(), user_items.shape[0], params.factors)
        items = _factor_matrix(model.itemFactors.toArrow(), user_items.shape[1], params.factors)
    finally:
        if spark is not None and running is None:
            try:
                spark.stop()
            except Exception as exc:  # noqa: BLE001 - a JVM gone with a failed fit: its error is the one to see
                log.warning("Spark did not stop cleanly: %s", str(exc).splitlines()[0] if str(exc) else exc)
        path.unlink(missing_ok=True)
        shutil.rmtree(checkpoints, ignore_errors=True)
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)
    return users, items


#: Spark's ALS checkpoints its factors every this many iterations (see spark_fit).
CHECKPOINT_EVERY = 5


def spark_params(params: ALSParams, user_items: sp.csr_matrix) -> dict:
    """Our ALS configuration in Spark MLlib's terms.

    - Regularisation: Spark multiplies ``regParam`` by each user's (item's) number of
      interactions when it solves for that user's (item's) factor (ALS-WR); `implicit` adds
      the same ``regularization`` to every solve. Equal values would regularise a user with
      100 positives 100 times harder in Spark, so ``regParam`` is ours divided by the mean
      number of positives per user: equal for the average user, the closest one number gets.
    - Confidence: `implicit` weighs an observed pair by ``alpha`` (1 for every other pair),
      Spark by ``1 + alpha``: Spark's ``alpha`` is ours minus one.
    """
    per_user = user_items.nnz / max(1, int((np.diff(user_items.indptr) > 0).sum()))
    return {
        "rank": params.factors,
        "maxIter": params.iterations,
        "regParam": params.regularization / max(per_user, 1.0),
        "alpha": max(params.alpha - 1.0, 1e-3),
    }


def _factor_matrix(table, n: int, factors: int) -> np.ndarray:
    """Spark's (id, features) rows as an (n, factors) float32 matrix; ids Spark never saw
    (no interactions) keep zero factors."""
    out = np.zeros((n, factors), dtype=np.float32)
    ids = table.column("id").to_numpy()
    if len(ids):
        out[ids] = np.asarray(table.column("features").to_pylist(), dtype=np.float32)
    return out


def _java_home() -> bool:
    import os

    return bool(os.environ.get("JAVA_HOME")) and (Path(os.environ["JAVA_HOME"]) / "bin" / "java").exists()
