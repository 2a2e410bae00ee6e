"""`recsys simulate`: what a step may see, who the fallback answers, the table and the plot."""

from datetime import datetime

import numpy as np
import pytest

from recommender.cli import main
from recommender.jobs.simulation import parse_step, step_data
from tests.conftest import real_data_dir

DAY = 86400.0


def log():
    """(users, movies, ts, positive): user 1 before and in the window, user 2 only in the
    window (new), user 3 only before; movie 30 first liked inside the window."""
    rows = [
        (1, 10, 1 * DAY, True),
        (1, 11, 2 * DAY, True),
        (1, 12, 3 * DAY, False),
        (3, 10, 4 * DAY, True),
        (3, 12, 5 * DAY, True),
        (1, 12, 11 * DAY, True),
        (2, 10, 12 * DAY, True),
        (2, 30, 13 * DAY, True),
        (1, 11, 25 * DAY, True),
        (4, 10, 26 * DAY, True),  # after the window
    ]
    users, movies, ts, positive = (np.array(c) for c in zip(*rows))
    return users, movies, ts.astype(float), positive.astype(bool)


def test_a_step_sees_nothing_after_its_cutoff_in_training_and_nothing_after_its_window():
    users, movies, ts, positive = log()
    data = step_data(users, movies, ts, positive, 10 * DAY, 20 * DAY)
    assert list(data.item_ids) == [10, 11, 12]  # 30 was first liked in the window: nobody can recommend it
    assert list(data.user_ids) == [1, 2, 3]  # 4 is after the window; 2 is new: an empty history
    assert sorted(zip(data.train.column("user_id").to_pylist(), data.train.column("movie_id").to_pylist())) == [
        (1, 10),
        (1, 11),
        (3, 10),
        (3, 12),
    ]
    assert sorted(zip(data.val.column("user_id").to_pylist(), data.val.column("movie_id").to_pylist())) == [
        (1, 12),
        (2, 10),
    ]
    # rewriting everything after the cut-off leaves training alone
    later = ts >= 10 * DAY
    moved, shifted = np.where(later, 11, movies), ts + np.where(later, 3 * DAY, 0)
    scrambled = step_data(users, moved, shifted, positive, 10 * DAY, 20 * DAY)
    assert scrambled.train.equals(data.train) and scrambled.negatives.equals(data.negatives)


def test_parse_step():
    assert parse_step("30d").days == 30 and parse_step("2w").days == 14 and parse_step("7").days == 7
    with pytest.raises(Exception, match="--step"):
        parse_step("soon")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(tmp_path / "warehouse" / "movielens.duckdb"))
    return tmp_path


@pytest.mark.realdata
@pytest.mark.slow
def test_simulate_writes_its_rows_and_the_report_plots_them(env, capsys):
    assert main(["ingest", str(real_data_dir()), "-q"]) == 0
    code = main(["simulate", "--start", "2017-01-01", "--step", "90d", "--steps", "2", "--models", "popular,als", "-q"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2017-01-01" in out and "2017-04-01" in out
    import duckdb

    con = duckdb.connect(str(env / "warehouse" / "movielens.duckdb"), read_only=True)
    rows = con.execute(
        "select step, model, users, fallback_users, ndcg, cutoff from simulation_steps order by all"
    ).fetchall()
    con.close()
    assert [(r[0], r[1]) for r in rows] == [(1, "als"), (1, "popular"), (2, "als"), (2, "popular")]
    assert all(r[2] > 0 and 0 <= r[3] <= r[2] and 0 <= r[4] <= 1 for r in rows)
    assert rows[0][5] == datetime(2017, 1, 1)
    assert main(["evaluate", "--models", "popular", "-q"]) == 0  # the report needs final runs too
    assert main(["report", "--out", str(env / "reports"), "-q"]) == 0
    assert "Online evaluation simulation" in (env / "reports" / "report.md").read_text()
    assert (env / "reports" / "simulation.png").stat().st_size > 10_000


@pytest.mark.realdata
@pytest.mark.slow
def test_a_simulation_cut_short_leaves_no_rows(env, monkeypatch):
    """A simulation killed after its first step: its rows are written at its end, in one
    transaction, so nothing of it lands, and the report's newest simulation is the last one
    that finished."""
    import duckdb

    import recommender.jobs.simulation as simulation

    assert main(["ingest", str(real_data_dir()), "-q"]) == 0
    args = ["simulate", "--start", "2017-01-01", "--step", "90d", "--steps", "2", "--models", "popular", "-q"]
    assert main(args) == 0
    score = simulation._score

    def killed_at_step_two(wb, data, step, *rest):
        if step == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside the job
        return score(wb, data, step, *rest)

    monkeypatch.setattr(simulation, "_score", killed_at_step_two)
    assert main(args) != 0  # `recsys: interrupted`
    con = duckdb.connect(str(env / "warehouse" / "movielens.duckdb"), read_only=True)
    try:
        simulations = con.execute("select count(distinct simulation_id), count(*) from simulation_steps").fetchall()
        finished = con.execute("select count(*) from simulation_runs").fetchall()
    finally:
        con.close()
    assert simulations == [(1, 2)] and finished == [(1,)]


def test_simulate_refuses_bad_arguments_in_one_line(env, capsys):
    main(["migrate", "-q"])
    assert main(["simulate", "--start", "soon"]) == 2
    assert "--start takes an ISO date" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # an argparse usage error: the usage line, then why
        main(["simulate", "--start", "2017-01-01", "--models", "nope"])
    assert refused.value.code == 2 and "unknown model nope" in capsys.readouterr().err
