"""Rolling-origin folds of the per-user split: each fold a step back in every user's own
timeline, nothing of a fold newer than its test, and the job's runs pooled over users."""

import json

import duckdb
import numpy as np
import pytest

from recommender.cli import main
from recommender.config import Settings
from recommender.config import ConfigError
from recommender.evaluation.pooled import cluster_bootstrap_ci
from recommender.warehouse import connect, migrate
from recommender.warehouse.ingest import ingest
from recommender.warehouse.splits import build_splits
from tests.movielens_fixtures import random_movielens


@pytest.fixture
def folded(tmp_path, sql):
    settings = Settings(warehouse=tmp_path / "w.duckdb", folds=3)
    con = connect(settings)
    migrate(con, settings.sql_dir)
    ingest(con, sql, random_movielens(tmp_path / "data", users=60, movies=40))
    build_splits(con, sql, settings)
    yield con
    con.close()


def _parts(con, strategy):
    rows = con.execute(
        "select user_id, movie_id, part::varchar from split_interactions where strategy = ?", [strategy]
    ).fetchall()
    return {(u, m): p for u, m, p in rows}


def test_each_fold_moves_every_users_holdout_one_step_back(folded):
    con = folded
    one, two, three = (_parts(con, s) for s in ("per_user", "per_user/2", "per_user/3"))
    # with equal val and test sizes, fold f's test is fold f-1's val
    assert {k for k, p in two.items() if p == "test"} == {k for k, p in one.items() if p == "val"}
    assert {k for k, p in three.items() if p == "test"} == {k for k, p in two.items() if p == "val"}
    # a fold holds nothing newer than its own test: fold 2 lacks fold 1's test, fold 3 both tests
    assert not {k for k, p in one.items() if p == "test"} & set(two)
    assert not {k for k, p in one.items() if p in ("test", "val")} & set(three)
    assert set(three) < set(two) < set(one)


def test_within_a_fold_train_precedes_val_precedes_test_for_every_user(folded):
    rows = folded.execute(
        """
        select strategy, user_id,
               max(ts) filter (where part = 'train') as train_end,
               min(ts) filter (where part = 'val') as val_start, max(ts) filter (where part = 'val') as val_end,
               min(ts) filter (where part = 'test') as test_start
        from split_interactions where strategy like 'per_user%' group by all
        """
    ).fetchall()
    assert rows
    for _, _, train_end, val_start, val_end, test_start in rows:
        if train_end is not None and val_start is not None:
            assert train_end <= val_start
        if val_end is not None and test_start is not None:
            assert val_end <= test_start


def test_a_folds_sub_threshold_ratings_stop_at_its_cut_off(folded):
    late = folded.execute(
        """
        with cut as (
            select user_id, max(ts) as last_test
            from split_interactions where strategy = 'per_user/2' and part = 'test' group by user_id
        ),
        dropped as (  -- the user's positives after fold 2's test: fold 1's test
            select user_id, min(ts) as first_after
            from split_interactions s join cut using (user_id)
            where s.strategy = 'per_user' and s.part = 'test' and s.ts > cut.last_test group by user_id
        )
        select count(*) from split_negative_parts n join dropped using (user_id)
        where n.strategy = 'per_user/2' and n.ts >= dropped.first_after
        """
    ).fetchall()[0][0]
    assert late == 0
    assert folded.execute("select count(*) from split_negative_parts where strategy = 'per_user/3'").fetchall()[0][0]


def test_folds_apply_to_the_per_user_split_only():
    with pytest.raises(ConfigError):
        Settings(split_strategy="global", folds=2)
    with pytest.raises(ConfigError):
        Settings(folds=0)
    assert [s.split_strategy for s in Settings(folds=3).fold_settings()] == ["per_user", "per_user/2", "per_user/3"]


def test_a_users_values_move_together_in_the_cluster_bootstrap():
    rng = np.random.default_rng(0)
    per_user = rng.normal(0.0, 1.0, 300)
    one = cluster_bootstrap_ci(np.arange(300), per_user, seed=1)
    # the same values three times per user (three folds that agree): as wide as one fold,
    # where treating the 900 values as independent would make it narrower by sqrt(3)
    three = cluster_bootstrap_ci(np.tile(np.arange(300), 3), np.tile(per_user, 3), seed=1)
    naive = cluster_bootstrap_ci(np.arange(900), np.tile(per_user, 3), seed=1)
    assert three[1] - three[0] == pytest.approx(one[1] - one[0], rel=0.15)
    assert naive[1] - naive[0] < 0.75 * (three[1] - three[0])


@pytest.mark.slow
def test_run_with_folds_evaluates_every_fold_with_fold_ones_configurations_and_pools_them(tmp_path, capsys):
    folder = random_movielens(tmp_path / "data", users=120, movies=60)
    warehouse = tmp_path / "w.duckdb"
    args = ["--warehouse", str(warehouse)]
    assert main(["run", str(folder), *args, "--folds", "3", "--trials", "2", "--no-precompute"]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select split_strategy, model, params from latest_runs where kind = 'evaluate' and eval_split = 'test'"
        ).fetchall()
    finally:
        con.close()
    by_fold: dict[str, dict[str, dict]] = {}
    for strategy, model, params in rows:
        by_fold.setdefault(strategy, {})[model] = json.loads(params)
    assert set(by_fold) == {"per_user", "per_user/2", "per_user/3"}
    for fold in ("per_user/2", "per_user/3"):
        assert set(by_fold[fold]) == set(by_fold["per_user"])  # every model and the ranker
        for model in ("als", "ease", "itemknn"):
            assert by_fold[fold][model] == by_fold["per_user"][model]  # tuned on fold 1's val only
    capsys.readouterr()
    assert main(["report", "--markdown", *args]) == 0
    printed = capsys.readouterr().out
    assert "Pooled over 3 rolling-origin folds" in printed
    assert "| ranker - " in printed or "- ranker |" in printed
    # a plain run afterwards rebuilds one fold: the report pools nothing stale
    assert main(["run", str(folder), *args, "--trials", "2", "--no-precompute"]) == 0
    capsys.readouterr()
    assert main(["report", "--markdown", *args]) == 0
    assert "Pooled over" not in capsys.readouterr().out
