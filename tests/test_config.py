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
        ({"split_strategy": "random"}, "split_strategy"),
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
