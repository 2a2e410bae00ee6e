"""ALS engines: the GPU refuses in one line where implicit finds no CUDA, and our ALS
configuration maps onto Spark MLlib's definitions."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.cli import main
from recommender.config import ConfigError, Settings
from recommender.models import ALS, ALSParams
from recommender.models.als_engines import GPU_PINS, ALSEngine, EngineError, spark_params


@pytest.fixture
def no_cuda(monkeypatch):
    import implicit.gpu

    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)


def test_the_gpu_refuses_where_implicit_finds_no_cuda_and_names_the_known_good_pins(no_cuda):
    engine = ALSEngine(device="gpu")
    with pytest.raises(EngineError, match="no CUDA") as raised:
        engine.check()
    assert GPU_PINS in str(raised.value) and "\n" not in str(raised.value)
    model = ALS({"factors": 4, "iterations": 1}, engine=engine)
    with pytest.raises(EngineError):
        model.fit(sp.csr_matrix(np.eye(5, dtype=np.float32)))


def test_recsys_train_on_the_gpu_fails_in_one_line_before_any_work(no_cuda, tmp_path, capsys):
    code = main(["train", "--model", "als", "--device", "gpu", "--warehouse", str(tmp_path / "none.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no CUDA" in err[0], err


def test_the_gpu_is_implicits_and_does_not_combine_with_spark():
    with pytest.raises(ConfigError, match="gpu"):
        Settings(als_engine="spark", als_device="gpu")
    with pytest.raises(ConfigError, match="gpu"):
        ALSEngine(name="spark", device="gpu")


def test_spark_gets_our_configuration_in_its_own_terms():
    # 3 users with 2, 4 and 6 positives: 4 on average
    rows = np.repeat([0, 1, 2], [2, 4, 6])
    cols = np.concatenate([np.arange(2), np.arange(4), np.arange(6)])
    matrix = sp.csr_matrix((np.ones(12, np.float32), (rows, cols)), shape=(4, 8))  # user 3 has none
    mapped = spark_params(ALSParams(factors=16, regularization=2.0, alpha=10.0, iterations=7), matrix)
    # Spark multiplies regParam by each user's count: the average user gets ours
    assert mapped == {"rank": 16, "maxIter": 7, "regParam": 0.5, "alpha": 9.0}
