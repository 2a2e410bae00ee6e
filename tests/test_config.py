import os
from pathlib import Path

import pytest

from recommender.config import ConfigError, Settings


def test_precedence_defaults_env_flags():
    env = {"RECSYS_WAREHOUSE": "/x/w.duckdb", "RECSYS_RATING_THRESHOLD": "3.5", "RECSYS_KS": "5,10"}
    s = Settings.from_sources({"rating_threshold": 4.5, "seed": None}, environ=env)
    assert s.warehouse == Path("/x/w.duckdb")
    assert s.rating_threshold == 4.5  # the flag beats the environment
    assert s.ks == (5, 10)
    assert s.seed == 42
    assert s.as_record()["warehouse"] == "/x/w.duckdb"


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"nope": 1}, "unknown setting 'nope'"),
        ({"split_strategy": "shuffled"}, "split_strategy"),
        ({"partitions": 1}, "partitions"),
        ({"rating_threshold": 9}, "rating_threshold"),
        ({"val_quantile": 0.95, "test_quantile": 0.9}, "quantiles"),
        ({"val_start": "2015-01-01"}, "both"),
        ({"holdout_unit": "count", "holdout_test": 0.5}, "whole number"),
        ({"holdout_test": 1.5}, "fraction"),
        ({"ranker_precompute_users": -1}, "ranker_precompute_users"),
        ({"test_users": 5}, "test_users"),
    ],
)
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_sources(overrides, environ={})


def test_bad_environment_value():
    with pytest.raises(ConfigError, match="RECSYS|seed"):
        Settings.from_sources(environ={"RECSYS_SEED": "abc"})


def test_settings_read_back_from_the_environment_they_export():
    """`recsys serve --workers N` hands its settings to the workers as RECSYS_* variables."""
    for settings in (
        Settings(),
        Settings(
            tune_users=None, test_users=None, threads=3, val_start="2010-01-01", test_start="2012-01-01", ks=(5, 10)
        ),
        Settings(als_engine="spark", spark_master="spark://h:7077", spark_data=Path("/shared/x"), seed=7),
    ):
        assert Settings.from_sources(environ=settings.as_environ()) == settings


def test_a_config_file_sits_below_the_environment_and_the_flags(tmp_path):
    path = tmp_path / "recsys.toml"
    path.write_text("seed = 7\nks = [5, 10]\nrating_threshold = 3.5\n[server]\ncache_size = 5\n")
    env = {"RECSYS_CONFIG": str(path), "RECSYS_RATING_THRESHOLD": "3.0"}
    settings, origin = Settings.resolve({"seed": 9}, environ=env)
    assert (settings.seed, settings.ks, settings.rating_threshold) == (9, (5, 10), 3.0)
    assert origin == {"seed": "flag", "ks": str(path), "rating_threshold": "RECSYS_RATING_THRESHOLD"}
    from server.config import ServerConfig

    server, server_origin = ServerConfig.resolve(settings, environ=env)
    assert server.cache_size == 5 and server_origin == {"cache_size": str(path)}


@pytest.mark.parametrize(
    "text,message",
    [
        ("sede = 7\n", "unknown setting"),
        ("seed = 'seven'\n", "seed"),
        ("seed = \n", "recsys.toml"),
        ("[server]\ncache = 5\n", "unknown setting"),
    ],
)
def test_a_bad_config_file_is_refused_in_one_line(tmp_path, text, message):
    from server.config import ServerConfig

    path = tmp_path / "recsys.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        ServerConfig.from_env(Settings.from_sources(environ={"RECSYS_CONFIG": str(path)}),
                              environ={"RECSYS_CONFIG": str(path)})  # fmt: skip


def test_recsys_config_says_where_each_setting_came_from(tmp_path, capsys, monkeypatch):
    from recommender.cli import main

    path = tmp_path / "mine.toml"
    path.write_text("seed = 5\n[server]\nadmin_key = 'secret'\n")
    monkeypatch.setenv("RECSYS_FOLDS", "2")
    assert main(["--config", str(path), "config", "--threads", "1"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["seed"].split()[1:] == ["5", str(path)]
    assert lines["folds"].split()[1:] == ["2", "RECSYS_FOLDS"]
    assert lines["threads"].split()[1:] == ["1", "flag"]
    assert lines["warehouse"].split()[-1] == "default"
    assert lines["server.admin_key"].split()[1] == "(set)" and "secret" not in "".join(lines.values())
    assert "RECSYS_CONFIG" not in os.environ or os.environ["RECSYS_CONFIG"] != str(path)  # --config is scoped


def test_a_stray_recsys_toml_is_ignored_by_the_tests(tmp_path, monkeypatch):
    """The test session sets RECSYS_CONFIG=none (tests/conftest.py): a recsys.toml in the
    working folder changes no test unless a test names it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recsys.toml").write_text("seed = 1\n")
    assert Settings.from_sources().seed == 42
    monkeypatch.delenv("RECSYS_CONFIG")
    assert Settings.from_sources().seed == 1  # as a user's process reads it


def test_a_config_file_may_write_dates_as_toml_dates_and_secrets_are_never_echoed(tmp_path):
    from server.config import ServerConfig

    path = tmp_path / "recsys.toml"
    path.write_text("split_strategy = 'global'\nval_start = 2016-01-01\ntest_start = 2017-01-01\n")
    env = {"RECSYS_CONFIG": str(path)}
    settings = Settings.from_sources(environ=env)
    assert (settings.val_start, settings.test_start) == ("2016-01-01", "2017-01-01")
    path.write_text("[server]\nadmin_key = 918273\n")
    with pytest.raises(ConfigError, match="admin_key") as refused:
        ServerConfig.from_env(settings, environ=env)
    assert "918273" not in str(refused.value)
