"""What a person meets at the command line: the version, the help's order, each command's own
flags, model lists, plurals, and one-line answers for a busy port, a missing warehouse, a
wrong admin key and Ctrl-C."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from recommender.cli import WORKFLOW, build_parser, main
from recommender.words import plural

SPLIT_FLAGS = {"--holdout-val", "--holdout-test", "--val-quantile", "--rating-threshold", "--eval-exclude", "--seed"}


def subcommands():
    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    return sub


def test_version(capsys):
    from recommender import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"recsys {__version__}"


def test_help_lists_the_commands_in_workflow_order_in_users_words():
    sub = subcommands()
    listed = [action.dest for action in sub._choices_actions]
    assert listed[:3] == ["run", "serve", "retrain"] and set(listed) == set(sub.choices)
    assert set(WORKFLOW) <= set(sub.choices)  # a renamed command is renamed in WORKFLOW too
    assert listed == [name for name in WORKFLOW if name in listed] + [n for n in listed if n not in WORKFLOW]
    text = build_parser().format_help()
    assert "``" not in text and "Settings object" not in text and "recsys run" in text


@pytest.mark.parametrize("name", ["serve", "versions", "rollback", "report", "runs"])
def test_commands_show_only_the_flags_they_use(name):
    options = {o for a in subcommands().choices[name]._actions for o in a.option_strings}
    assert "--warehouse" in options and not options & SPLIT_FLAGS, options & SPLIT_FLAGS
    assert len(subcommands().choices[name].format_help().splitlines()) <= 30


@pytest.mark.parametrize(
    "argv", [["train", "--models"], ["evaluate", "--models"], ["simulate", "--start", "2017-01-01", "--models"]]
)
def test_models_take_a_comma_list_everywhere(argv, capsys):
    assert build_parser().parse_args([*argv, "als,ease"]).models == ["als", "ease"]
    assert build_parser().parse_args([*argv, "all"]).models[:2] == ["popular", "itemknn"]
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "als,alss"])
    err = capsys.readouterr().err
    assert "unknown model alss" in err and "itemknn" in err
    assert build_parser().parse_args(["tune", "als,ease"]).models == ["als", "ease"]


def test_plurals():
    assert plural(1, "trial") == "1 trial" and plural(30, "trial") == "30 trials"
    assert plural(12086, "user") == "12,086 users" and plural(0, "row") == "0 rows"


def test_a_port_in_use_is_one_line_before_anything_loads(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RECSYS_WAREHOUSE", str(tmp_path / "none.duckdb"))  # nothing published, nothing loaded
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"127.0.0.1:{port}" in err[0] and "--port" in err[0], err
    assert not (tmp_path / "none.duckdb").exists()


def test_a_missing_warehouse_names_its_resolved_path_and_how_to_set_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECSYS_WAREHOUSE", raising=False)
    assert main(["versions"]) == 2
    err = capsys.readouterr().err
    resolved = str(Path(tmp_path / "warehouse" / "movielens.duckdb").resolve())
    assert resolved in err and "--warehouse" in err and "RECSYS_WAREHOUSE" in err


def test_a_refused_admin_key_says_which_key_to_check():
    from recommender.feedback.http import admin_hint

    assert "does not match the server's RECSYS_ADMIN_KEY" in admin_hint(401)
    assert "RECSYS_ADMIN_KEY" in admin_hint(403) and admin_hint(500) == ""


def test_ctrl_c_during_tuning_prints_no_third_party_traceback(capsys):
    from recommender.evaluation.tuning import search

    calls = []

    def objective(params, report):
        calls.append(params)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 0.1

    with pytest.raises(KeyboardInterrupt):
        search("als", 5, 0, objective)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Trial" not in err, err


def test_ctrl_c_marks_the_job_interrupted(tmp_path):
    from recommender.config import Settings
    from recommender.warehouse import connect, migrate
    from recommender.warehouse.jobs import job

    settings = Settings(warehouse=tmp_path / "w.duckdb")
    con = connect(settings)
    migrate(con, settings.sql_dir)
    with pytest.raises(KeyboardInterrupt), job(con, "tune", settings):
        raise KeyboardInterrupt
    assert con.execute("select status, error from job_log").fetchall() == [("interrupted", None)]
    con.close()
