"""Every multithreaded library a job runs follows its ``--threads`` (``RECSYS_THREADS``):
implicit (ALS, ItemKNN), LightGBM (the ranker's booster, its training and scoring) and DuckDB
(the warehouse and a new version file)."""

from types import SimpleNamespace

import duckdb
import numpy as np
import pytest

from recommender.config import Settings
from recommender.models import ALS, ItemKNN
from recommender.models.als_engines import ALSEngine
from recommender.warehouse.connection import connect, job_config
from tests.models.test_contract import two_taste_matrix


class _Inputs:
    """A job's fit inputs (FitInputs) with ``threads`` set."""

    def __init__(self, threads: int) -> None:
        self.seed, self.threads, self.m = 1, threads, two_taste_matrix()

    def matrix(self):
        return self.m

    def times(self):
        return self.m

    def extra(self, name):
        return ALSEngine("implicit")

    def fitted(self, name, params):  # pragma: no cover - not used by these models
        raise AssertionError(name)


@pytest.mark.parametrize("threads", [1, 3])
def test_implicit_models_use_the_jobs_threads(threads):
    als = ALS.fit_from({"factors": 4, "iterations": 2}, _Inputs(threads))
    knn = ItemKNN.fit_from({"neighbours": 5}, _Inputs(threads))
    assert als.model_.num_threads == threads
    assert knn.model_.num_threads == threads


@pytest.mark.parametrize("threads", [1, 2])
def test_the_boosters_parameters_follow_the_jobs_threads(threads):
    import lightgbm

    from recommender.jobs.two_stage import _train
    from recommender.models.ranker import RANKER_FEATURES

    rng = np.random.default_rng(0)
    x = rng.random((60, len(RANKER_FEATURES)))
    row = np.repeat(np.arange(6), 10)
    label = (rng.random(60) > 0.5).astype(float)
    wb = SimpleNamespace(settings=Settings(threads=threads, seed=3))
    params = {"leaves": 3, "learning_rate": 0.1, "rounds": 3}
    booster = _train(lightgbm, x, label, row, params, wb)
    assert booster.params["num_threads"] == threads
    assert booster.params["deterministic"] is True and booster.params["seed"] == 3


@pytest.mark.parametrize("threads", [1, 2])
def test_duckdb_connections_use_the_jobs_threads(tmp_path, threads):
    settings = Settings(warehouse=tmp_path / "w.duckdb", threads=threads)
    con = connect(settings)
    try:
        assert con.execute("select current_setting('threads')").fetchone()[0] == threads
    finally:
        con.close()
    version_file = duckdb.connect(str(tmp_path / "recs.duckdb"), config=job_config(settings))
    try:
        assert version_file.execute("select current_setting('threads')").fetchone()[0] == threads
    finally:
        version_file.close()
