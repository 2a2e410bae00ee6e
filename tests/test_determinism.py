"""Same data, same settings, fresh warehouses: the main job gives the same numbers and
publishes the same lists, to the last bit (every random choice is seeded: model inits,
tuning's sampler, user samples, the bootstrap, LightGBM)."""

from pathlib import Path

import duckdb
import pytest

from recommender.cli import main
from recommender.config import Settings
from recommender.version.registry import read_pointer
from recommender.warehouse import connect
from tests.movielens_fixtures import random_movielens

pytestmark = pytest.mark.slow

#: Every run's identity and numbers, in the order the job made them (no timings, no run ids).
RUN_NUMBERS = """
    select r.kind, r.model, r.eval_split, r.params, m.split, m.k, m.metric, m.value, m.n_users
    from runs r join run_metrics m using (run_id)
    order by r.created_at, r.kind, r.model, m.split, m.k, m.metric
"""
USER_NUMBERS = """
    select r.kind, r.model, u.*exclude (run_id)
    from runs r join run_user_metrics u using (run_id)
    order by r.created_at, r.kind, r.model, u.split, u.k, u.metric, u.user_id
"""
CONFIGS = "select model, params, metric, k, value from model_configs order by selected_at, model"
LISTS = "select * from recommendations order by model, user_id, rank"


def _main_job(folder: Path, root: Path) -> Settings:
    settings = Settings(warehouse=root / "w.duckdb")
    args = ["run", str(folder), "--warehouse", str(settings.warehouse), "--out", str(root / "reports")]
    assert main([*args, "--trials", "3", "--threads", "2"]) == 0
    return settings


def _read(settings: Settings) -> dict[str, list[tuple]]:
    con = connect(settings, read_only=True)
    try:
        out = {name: con.execute(query).fetchall() for name, query in [("runs", RUN_NUMBERS), ("configs", CONFIGS)]}
        out["users"] = con.execute(USER_NUMBERS).fetchall()
    finally:
        con.close()
    pointer = read_pointer(settings.serving_dir)
    assert pointer is not None
    recs = duckdb.connect(str(pointer.folder / "recs.duckdb"), read_only=True)
    try:
        out["lists"] = recs.execute(LISTS).fetchall()
    finally:
        recs.close()
    return out


def test_two_runs_of_the_main_job_give_identical_numbers_and_lists(tmp_path):
    folder = random_movielens(tmp_path / "data", users=120, movies=60)
    first, second = (_read(_main_job(folder, tmp_path / name)) for name in ("first", "second"))
    assert {m for _, m, *_ in first["runs"]} >= {"popular", "itemknn", "als", "diverse", "hybrid", "ease", "ranker"}
    assert {m for m, *_ in first["lists"]} >= {"als", "ranker"}
    for name in first:
        assert first[name], name
        assert first[name] == second[name], f"{name} differ between two runs of the same job"
