"""The README's model commands through the real entry point, on synthetic data."""

import pytest

from recommender.cli import main
from tests.movielens_fixtures import random_movielens

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(tmp_path / "warehouse" / "movielens.duckdb"))
    monkeypatch.setenv("RECSYS_SPLIT_STRATEGY", "per_user")
    monkeypatch.chdir(tmp_path)
    folder = random_movielens(tmp_path / "ml")
    assert main(["migrate"]) == 0
    assert main(["ingest", str(folder)]) == 0
    return tmp_path


def test_train_tune_evaluate_runs_report(env, capsys):
    assert main(["train", "--model", "als"]) == 0
    out = capsys.readouterr().out
    assert "als" in out and "val" in out
    assert list((env / "warehouse" / "models").glob("*-als.npz"))
    assert main(["tune", "itemknn", "--trials", "2"]) == 0
    assert "best itemknn" in capsys.readouterr().err
    assert main(["tune", "als", "--trials", "2"]) == 0
    assert main(["tune", "diverse"]) == 0
    assert "chosen for diverse" in capsys.readouterr().err
    assert main(["evaluate", "--part", "test", "--models", "all"]) == 0
    out = capsys.readouterr().out
    for model in ("popular", "itemknn", "als", "diverse"):
        assert model in out
    assert main(["runs", "--kind", "evaluate"]) == 0
    out = capsys.readouterr().out
    assert "evaluate" in out and "tune" not in out
    assert main(["report"]) == 0
    report = (env / "reports" / "report.md").read_text()
    assert "| als |" in report and "[" in report  # confidence intervals
    assert (env / "reports" / "tradeoff.png").exists()


def test_evaluate_val_and_strategy_flag(env, capsys):
    assert main(["evaluate", "--part", "val", "--models", "popular", "--split", "global"]) == 0
    assert "global" in capsys.readouterr().out
    assert main(["evaluate", "--part", "val", "--models", "popular"]) == 0
    out = capsys.readouterr().out
    assert "val" in out and "per_user" in out


def test_report_without_runs_and_bad_flags(env, capsys):
    assert main(["report"]) == 2
    assert "no final runs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--model", "svd"])
    assert main(["tune", "als", "--trials", "0"]) == 2
