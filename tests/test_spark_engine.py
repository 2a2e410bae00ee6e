"""Spark MLlib as ALS's training engine (local mode) on real data: the same configuration
reaches implicit's NDCG@10 within 10%, and a retrain on Spark publishes lists that pass the
same publication checks (no rated movie, 20 per user, ...) as implicit's."""

import os
import shutil

import pytest

from recommender.cli import main
from recommender.config import Settings
from recommender.warehouse import connect
from tests.conftest import real_data_dir

pytestmark = [pytest.mark.spark, pytest.mark.realdata, pytest.mark.slow]


def _require_spark() -> None:
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append('pyspark (pip install -e ".[spark]")')
    if shutil.which("java") is None:
        missing.append("Java 17 (apt-get install openjdk-17-jre-headless)")
    if missing:
        message = "the Spark engine needs " + " and ".join(missing)
        if os.environ.get("CI_REQUIRE_SPARK"):
            pytest.fail(message + "; CI_REQUIRE_SPARK is set")
        pytest.skip(message)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    _require_spark()
    root = tmp_path_factory.mktemp("spark")
    settings = Settings(warehouse=root / "movielens.duckdb", split_strategy="per_user")
    args = ["--warehouse", str(settings.warehouse)]
    assert main(["run", str(real_data_dir()), *args, "--out", str(root / "reports"), "--no-precompute"]) == 0
    return settings, args


def _ndcg_by_engine(settings, kind: str) -> dict[str, float]:
    con = connect(settings, read_only=True)
    try:
        rows = con.execute(
            """
            select json_extract_string(r.settings, '$.als_engine') as engine, m.value
            from runs r join run_metrics m using (run_id)
            where r.kind = ? and r.model = 'als' and r.eval_split = 'test' and m.metric = 'ndcg' and m.k = 10
            order by r.created_at
            """,
            [kind],
        ).fetchall()
    finally:
        con.close()
    return dict(rows)  # the newest run per engine


def test_spark_als_matches_implicit_and_its_published_lists_pass_the_checks(warehouse):
    settings, args = warehouse
    spark = ["--engine", "spark", "--spark-master", "local[2]"]
    assert main(["evaluate", "--models", "als", *spark, *args]) == 0
    ndcg = _ndcg_by_engine(settings, "evaluate")
    assert set(ndcg) == {"implicit", "spark"}
    assert ndcg["spark"] >= 0.9 * ndcg["implicit"], ndcg
    # the production fit on Spark, precompute and the publication checks (a failed check fails it)
    assert main(["retrain", *spark, *args]) == 0
    con = connect(settings, read_only=True)
    try:
        engines = con.execute(
            "select distinct json_extract_string(settings, '$.als_engine') from runs where kind = 'production'"
        ).fetchall()
        active = con.execute("select count(*) from model_versions where status = 'active'").fetchall()[0][0]
    finally:
        con.close()
    assert engines == [("spark",)] and active == 1


def _random_positives(users: int = 300, items: int = 120, seed: int = 5):
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < 0.08).astype(np.float32)
    return sp.csr_matrix(dense)


def test_spark_fits_the_tuners_largest_iteration_count():
    """Tuning may choose ``als_max_iterations`` (20); without checkpoints Spark's ALS lineage
    overflows the stack past about 15 iterations. The fit must succeed at the largest count."""
    _require_spark()
    from recommender.models.als import ALSParams
    from recommender.models.als_engines import ALSEngine

    iterations = Settings().als_max_iterations
    engine = ALSEngine("spark", spark_master="local[2]", spark_driver_memory="1g")
    positives = _random_positives()
    users, items = engine.fit(positives, ALSParams(factors=8, iterations=iterations), seed=3)
    assert users.shape == (positives.shape[0], 8) and items.shape == (positives.shape[1], 8)
    assert abs(users).sum() > 0 and abs(items).sum() > 0


def test_a_failed_spark_fit_is_reported_as_itself(monkeypatch):
    """When the fit fails and the session then cannot stop (a JVM gone with the fit), the
    error raised is the fit's, not the cleanup's."""
    _require_spark()
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import SparkSession

    from recommender.models.als import ALSParams
    from recommender.models.als_engines import ALSEngine

    def failed_fit(self, dataset):
        raise RuntimeError("the fit's own error")

    stop = SparkSession.stop

    def broken_stop(self):
        stop(self)
        raise RuntimeError("SparkSession does not exist in the JVM")

    assert SparkSession.getActiveSession() is None  # else the engine would not stop it: nothing tested
    monkeypatch.setattr(SparkALS, "fit", failed_fit)
    monkeypatch.setattr(SparkSession, "stop", broken_stop)
    engine = ALSEngine("spark", spark_master="local[1]", spark_driver_memory="1g")
    with pytest.raises(RuntimeError, match="the fit's own error"):
        engine.fit(_random_positives(), ALSParams(factors=4, iterations=2), seed=3)
