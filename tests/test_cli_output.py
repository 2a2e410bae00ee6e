"""What `recsys` prints: --quiet / --verbose on every command, progress bars only on a terminal,
`recsys sql` with several statements."""

import os
import pty
import re
import subprocess
import sys

import pytest

from recommender.cli import build_parser, main
from tests.movielens_fixtures import make_movielens


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(tmp_path / "warehouse" / "movielens.duckdb"))
    return tmp_path


def subcommands():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return sub.choices


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_command_takes_quiet_and_verbose(name):
    options = {o for a in subcommands()[name]._actions for o in a.option_strings}
    assert {"--quiet", "-q", "--verbose", "-v"} <= options


def test_download_shows_only_the_flags_it_uses():
    options = {o for a in subcommands()["download"]._actions for o in a.option_strings}
    assert "--data-dir" in options
    assert not options & {"--split", "--holdout-val", "--val-quantile", "--warehouse", "--seed"}


def test_quiet_keeps_results_and_warnings_verbose_adds_the_sql_run(env, capsys):
    folder = make_movielens(env / "ml")
    assert main(["ingest", str(folder), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "per_user" in captured.out  # the split summary is a result
    assert main(["ingest", str(folder), "--force", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "sql warehouse/ingest/load_ratings.sql:" in err and "loading ratings.csv" in err
    assert main(["split", "-q", "--split", "global"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["evaluate", "-q", "--split", "global", "--models", "popular"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: val has") and "fewer than 100" in err and "--split per-user" in err


def test_errors_show_even_when_quiet(env, capsys):
    assert main(["sql", "select 1", "--quiet"]) == 2
    assert "no warehouse" in capsys.readouterr().err


def _progress_bars_on(*streams_on_a_terminal: str) -> str:
    """progress_bars() in a child whose named streams are a pseudo-terminal."""
    code = (
        "from recommender.cli.common import configure_output, progress_bars; configure_output(); print(progress_bars())"
    )
    primary, secondary = pty.openpty()
    try:
        kwargs = {name: secondary for name in streams_on_a_terminal}
        kwargs.setdefault("stdout", subprocess.PIPE)
        done = subprocess.run([sys.executable, "-c", code], timeout=60, **kwargs)
        assert done.returncode == 0
        return (done.stdout or os.read(primary, 100)).decode().strip()
    finally:
        os.close(primary)
        os.close(secondary)


def test_progress_bars_only_on_a_terminal():
    assert _progress_bars_on("stdout", "stderr") == "True"
    assert _progress_bars_on("stderr") == "False"  # stdout redirected: a bar would land in the file


def test_the_warehouse_connection_follows_the_progress_choice(settings):
    from recommender.warehouse.connection import connect

    for progress in (False, True):
        con = connect(settings, progress=progress)
        assert con.execute("select current_setting('enable_progress_bar')").fetchall() == [(progress,)]
        con.close()


def test_sql_prints_every_statement(env, capsys):
    main(["migrate"])
    capsys.readouterr()
    query = "create table t (x int); insert into t values (1), (2); select sum(x) as total from t; select 7 as b"
    assert main(["sql", query]) == 0
    out = capsys.readouterr().out
    assert "ok (create)" in out and "2 rows inserted" in out
    assert re.search(r"│\s+3 │", out) and re.search(r"│\s+7 │", out)  # 3: the insert ran once
    assert main(["sql", "select 1; select * from missing_table"]) == 2
    assert "statement 2 of 2" in capsys.readouterr().err
