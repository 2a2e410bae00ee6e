"""The protocols of published results: a per-user random holdout, LensKit-style user
crossfolds, and every rating a positive; seeded, sized like the temporal splits, and run by
the main job end to end."""

import math

import pytest

from recommender.cli import main
from recommender.cli.common import ALL_POSITIVE_THRESHOLD
from recommender.config import ConfigError, Settings
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse import build_splits, connect, ingest, migrate
from tests.movielens_fixtures import random_movielens


def _warehouse(tmp_path, settings: Settings):
    folder = random_movielens(tmp_path / "ml", users=60, movies=40, seed=3)
    sql = SqlLibrary(settings.sql_dir)
    con = connect(settings)
    migrate(con, settings.sql_dir)
    ingest(con, sql, folder)
    build_splits(con, sql, settings)
    return con, sql


def _parts(con, strategy: str) -> dict[tuple[int, int], str]:
    rows = con.execute(
        "select user_id, movie_id, part::varchar from split_interactions where strategy = ?", [strategy]
    ).fetchall()
    return {(u, m): p for u, m, p in rows}


def test_the_random_split_holds_out_a_seeded_share_of_every_users_positives(tmp_path):
    settings = Settings(warehouse=tmp_path / "w.duckdb", split_strategy="random", holdout_test=0.25, holdout_val=0.25)
    con, sql = _warehouse(tmp_path, settings)
    parts = _parts(con, "random")
    per_user = _parts(con, "per_user")
    assert parts.keys() == per_user.keys()  # every positive, once
    for user in {u for u, _ in parts}:
        mine = [p for (u, _), p in parts.items() if u == user]
        share = max(1, math.floor(0.25 * len(mine) + 0.5))  # SQL's round: halves away from zero
        assert mine.count("test") == min(share, len(mine))
        assert mine.count("val") == min(share, len(mine) - mine.count("test"))
    # not the newest positives: the random holdout differs from the per-user (temporal) one
    assert sum(parts[key] != per_user[key] for key in parts) > len(parts) // 10
    # the same seed gives the same split; another seed another one
    build_splits(con, sql, settings)
    assert _parts(con, "random") == parts
    build_splits(con, sql, settings.replace(seed=7))
    assert _parts(con, "random") != parts
    con.close()


def test_crossfold_partitions_hold_out_each_user_in_exactly_one_partition(tmp_path):
    settings = Settings(warehouse=tmp_path / "w.duckdb", split_strategy="crossfold", partitions=3, holdout_test=0.2)
    con, sql = _warehouse(tmp_path, settings)
    strategies = ["crossfold", "crossfold/2", "crossfold/3"]
    tested: dict[int, list[str]] = {}
    for strategy in strategies:
        parts = _parts(con, strategy)
        for (user, _), part in parts.items():
            if part == "test":
                tested.setdefault(user, [])
                if strategy not in tested[user]:
                    tested[user].append(strategy)
    users = {u for u, in con.execute("select distinct user_id from split_positives").fetchall()}
    assert set(tested) == users and all(len(s) == 1 for s in tested.values())
    sizes = [sum(1 for s in tested.values() if s == [strategy]) for strategy in strategies]
    assert max(sizes) - min(sizes) <= 1  # partitions of (nearly) equal size
    # a user held out in partition 1 is all train in the others
    user = next(u for u, s in tested.items() if s == ["crossfold"])
    assert {p for (u, _), p in _parts(con, "crossfold/2").items() if u == user} == {"train"}
    folds = [row[0] for row in sql.run(con, "warehouse/splits/fold_strategies.sql").fetchall()]
    assert folds == ["crossfold/2", "crossfold/3"]
    con.close()


def test_the_protocol_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="needs --partitions"):  # building it needs them
        Settings(warehouse=tmp_path / "w.duckdb", split_strategy="crossfold").require_partitions()
    with pytest.raises(ConfigError, match="partitions must be"):
        Settings(partitions=1)
    with pytest.raises(ConfigError, match="must leave a train part"):
        Settings(split_strategy="random", holdout_test=0.5, holdout_val=0.5)
    assert Settings(split_strategy="per_user", partitions=3).fold_count == 1  # other splits ignore them
    assert Settings(split_strategy="crossfold", partitions=4).fold_count == 4
    assert [s.split_strategy for s in Settings(split_strategy="crossfold", partitions=3).fold_settings()] == [
        "crossfold", "crossfold/2", "crossfold/3"
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "flags,strategy",
    [
        (["--split", "random", "--test-fraction", "0.25", "--all-positive"], "random"),
        (["--split", "crossfold", "--partitions", "2", "--test-fraction", "0.2"], "crossfold"),
    ],
)
def test_the_main_job_runs_each_protocol_end_to_end(tmp_path, capsys, flags, strategy):
    folder = random_movielens(tmp_path / "ml", users=70, movies=40, seed=5)
    warehouse = tmp_path / "w.duckdb"
    args = ["run", str(folder), "--warehouse", str(warehouse), "--out", str(tmp_path / "reports"), "--trials", "2"]
    assert main([*args, "--no-precompute", *flags]) == 0
    report = (tmp_path / "reports" / "report.md").read_text()
    assert f"Split: **{strategy}**" in report
    con = connect(Settings(warehouse=warehouse), read_only=True)
    try:
        evaluated = dict(
            con.execute(
                "select split_strategy, count(distinct model) from runs where kind = 'evaluate' group by all"
            ).fetchall()
        )
        threshold = con.execute("select rating_threshold from settings").fetchall()[0][0]
    finally:
        con.close()
    # a later `recsys report` names the split as it was built, whatever its own flags say
    again = tmp_path / "again"
    assert main(["report", "--warehouse", str(warehouse), "--split", strategy, "--out", str(again)]) == 0
    assert (again / "report.md").read_text().splitlines()[0] == report.splitlines()[0]
    if strategy == "crossfold":  # every partition evaluated, and the pooled tables in the report
        assert evaluated.get("crossfold", 0) >= 6 and evaluated.get("crossfold/2", 0) >= 6
        assert "## Crossfold partitions" in report and "Pooled over 2 crossfold partitions" in report
        assert report.startswith("# Offline evaluation report: user crossfold (2 partitions")
    else:
        assert evaluated.get("random", 0) >= 6
        assert math.isclose(threshold, ALL_POSITIVE_THRESHOLD) and "positives: every rating" in report
        assert report.startswith("# Offline evaluation report: per-user random holdout (0.25 of each user")


def test_a_crossfold_built_with_other_partitions_is_rebuilt(tmp_path):
    """Which partition a user lands in depends on K: folds built for K = 3 are not K = 2's."""
    from recommender.jobs.folds import missing_folds

    settings = Settings(warehouse=tmp_path / "w.duckdb", split_strategy="crossfold", partitions=3)
    con, sql = _warehouse(tmp_path, settings)
    assert missing_folds(con, sql, settings) == []
    assert missing_folds(con, sql, settings.replace(partitions=2)) == ["crossfold/2"]
    con.close()
