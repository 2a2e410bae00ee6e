"""The README's warehouse commands, run through the real ``recsys`` entry point."""

import pytest

from recommender.cli import main
from tests.conftest import real_data_dir
from tests.movielens_fixtures import RATINGS_HEADER, make_movielens, write_csv


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(tmp_path / "warehouse" / "movielens.duckdb"))
    return tmp_path


def test_migrate_ingest_and_query(env, capsys):
    folder = make_movielens(env / "ml")
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert "is up to date" in capsys.readouterr().err
    assert main(["ingest", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "per_user" in out and "train" in out  # the split summary is printed
    assert main(["sql", "select title from catalog where movie_id = 2"]) == 0
    assert "The American President" in capsys.readouterr().out
    # the job recorded the settings it ran with
    assert main(["sql", "select settings->>'rating_threshold' as threshold_used from job_log where status = 'ok'"]) == 0
    assert "4.0" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_nonzero(env, capsys):
    assert main(["ingest", str(env)]) == 2
    err = capsys.readouterr().err
    assert "holds no MovieLens data set" in err and "MovieLens 100K (u.data, u.item)" in err
    assert not (env / "warehouse").exists()  # refused before a warehouse was created
    assert main(["sql", "select 1"]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert not (env / "warehouse" / "movielens.duckdb").exists()
    folder = make_movielens(env / "bad")
    write_csv(folder / "ratings.csv", RATINGS_HEADER, ["1,1,4.0,1", "1,2,9.0,2"])
    assert main(["ingest", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "ratings.csv line 3: rating 9.0 is outside 0.5..5.0" in err and "nothing was changed" in err
    assert main(["sql", "select * from no_such_table"]) == 2
    assert "no_such_table" in capsys.readouterr().err
    assert main(["ingest", str(folder), "--split", "per-user", "--holdout-test", "3"]) == 2
    assert "configuration error" in capsys.readouterr().err


def test_split_settings_from_flags(env, capsys):
    folder = make_movielens(env / "ml")
    main(["migrate"])
    main(["ingest", str(folder)])
    capsys.readouterr()
    assert main(["split", "--holdout-unit", "count", "--holdout-val", "1", "--holdout-test", "2"]) == 0
    assert main(["sql", "select holdout_unit, holdout_test from split_cutoffs where strategy = 'per_user'"]) == 0
    assert "count" in capsys.readouterr().out


@pytest.mark.realdata
def test_real_movielens_small(env, capsys):
    folder = real_data_dir()
    assert main(["migrate"]) == 0
    assert main(["ingest", str(folder)]) == 0
    capsys.readouterr()
    main(["sql", "select count(*) as n from raw_ratings"])
    assert "100836" in capsys.readouterr().out
    main(["sql", "select count(*) as n from catalog where year is null"])
    from recommender.config import Settings
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse import connect, load_split

    settings = Settings.from_sources()
    con = connect(settings, read_only=True)
    data = load_split(con, SqlLibrary(settings.sql_dir), "per_user")
    con.close()
    assert data.matrix("train").shape[0] > 600 and data.matrix("test").nnz > 1000


@pytest.mark.parametrize("point", ["ingest:loaded-ratings", "ingest:loaded-movies", "ingest:loaded", "split:building"])
def test_an_ingest_killed_anywhere_leaves_a_warehouse_the_next_ingest_completes(env, capsys, point):
    """SIGKILL inside the load transaction, between the load and the split build, or inside
    the split build: the warehouse opens with the old data or the new, never a mix, and the
    next ingest of the same files finishes the job (it does not say "nothing to do" over
    splits older than the data)."""
    import os
    import subprocess
    import sys

    assert main(["migrate"]) == 0
    first = make_movielens(env / "first")
    assert main(["ingest", str(first)]) == 0
    second = make_movielens(
        env / "second", ratings=[(u, m, 5.0, 1_000_000_000 + u * 100 + m) for u in range(1, 12) for m in range(1, 7)]
    )
    killed = subprocess.run(
        [sys.executable, "-m", "recommender", "ingest", str(second)],
        capture_output=True,
        env={**os.environ, "RECSYS_FAILPOINT": point},
        timeout=120,
    )
    assert killed.returncode == -9
    capsys.readouterr()
    # old or new, consistently: killed inside the load transaction, the first folder's ratings
    # are all there; after it, the second's
    assert main(["sql", "select count(*) = 66 and count(distinct user_id) = 11 as second_folder from raw_ratings"]) == 0
    loaded = "true" in capsys.readouterr().out
    assert loaded == (not point.startswith("ingest:loaded-"))
    assert main(["ingest", str(second)]) == 0
    assert main(["sql", "select count(distinct user_id) as users from split_assignments"]) == 0
    assert "11" in capsys.readouterr().out
    assert main(["sql", "select count(*) as n from job_log where status = 'interrupted'"]) == 0
    assert "1" in capsys.readouterr().out
