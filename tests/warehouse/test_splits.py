"""Strict separation of the time-based splits, checked for arbitrary rating logs."""

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from recommender.config import Settings
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.migrations import migrate
from recommender.warehouse.splits import build_splits
from tests.conftest import SQL_DIR

SQL = SqlLibrary(SQL_DIR)

rating_logs = st.lists(
    st.tuples(
        st.integers(1, 12),                      # user
        st.integers(1, 25),                      # movie
        st.sampled_from([1.0, 2.5, 3.5, 4.0, 4.5, 5.0]),
        st.integers(0, 400),                     # time (few distinct values: ties happen)
    ),
    min_size=1,
    max_size=150,
)

split_settings = st.one_of(
    st.builds(
        lambda v, t: Settings(val_quantile=v, test_quantile=t),
        st.floats(0.1, 0.6), st.floats(0.65, 0.95),
    ),
    st.builds(
        lambda v, t: Settings(holdout_unit="count", holdout_val=v, holdout_test=t),
        st.integers(1, 3), st.integers(1, 3),
    ),
    st.builds(
        lambda v, t: Settings(holdout_unit="fraction", holdout_val=v, holdout_test=t),
        st.floats(0.05, 0.4), st.floats(0.05, 0.4),
    ),
)


def _warehouse(log):
    con = duckdb.connect()
    migrate(con, SQL_DIR)
    table = pa.table(
        {
            "user_id": pa.array([r[0] for r in log], pa.int32()),
            "movie_id": pa.array([r[1] for r in log], pa.int32()),
            "rating": pa.array([r[2] for r in log], pa.float32()),
            "ts": pa.array([1_000_000_000 + r[3] for r in log], pa.int64()),
        }
    )
    con.register("log_rows", table)
    con.execute("insert into raw_ratings select * from log_rows")
    return con


def _rows(con, query, params=()):
    return con.execute(query, list(params)).fetchall()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=rating_logs, cfg=split_settings)
def test_every_positive_lands_in_exactly_one_part(log, cfg):
    con = _warehouse(log)
    build_splits(con, SQL, cfg)
    positives = set(_rows(con, "select user_id, movie_id from interactions"))
    for strategy in ("global", "per_user"):
        rows = _rows(con, "select user_id, movie_id, part from split_interactions where strategy = ?", [strategy])
        pairs = [(u, m) for u, m, _ in rows]
        assert len(pairs) == len(set(pairs)), "a (user, movie) pair is in two parts"
        assert set(pairs) == positives, "the split lost or invented interactions"
        # kept val/test rows use only train users and train movies; unkept ones do not
        train_users = {u for u, m, p in rows if p == "train"}
        train_items = {m for u, m, p in rows if p == "train"}
        for u, m, kept in _rows(
            con, "select user_id, movie_id, kept from split_interactions where strategy = ? and part <> 'train'", [strategy]
        ):
            assert kept == (u in train_users and m in train_items)
        summary = {p: (r, d) for p, r, d in _rows(
            con, "select part, rows, dropped_rows from split_summary where strategy = ?", [strategy])}
        for part, (kept_rows, dropped) in summary.items():
            assert kept_rows + dropped == sum(1 for *_, p in rows if p == part)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=rating_logs, cfg=split_settings)
def test_global_split_is_strictly_ordered_in_time(log, cfg):
    con = _warehouse(log)
    build_splits(con, SQL, cfg)
    (val_start, test_start) = _rows(
        con, "select epoch(val_start)::bigint, epoch(test_start)::bigint from split_cutoffs where strategy = 'global'"
    )[0]
    for part, lo, hi in _rows(
        con, "select part, min(ts), max(ts) from split_interactions where strategy = 'global' group by part"
    ):
        if part == "train":
            assert hi < val_start
        elif part == "val":
            assert val_start <= lo and hi < test_start
        else:
            assert lo >= test_start


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=rating_logs, cfg=split_settings)
def test_per_user_split_holds_out_each_users_latest(log, cfg):
    con = _warehouse(log)
    build_splits(con, SQL, cfg)
    order = {"train": 0, "val": 1, "test": 2}
    rows = _rows(con, "select user_id, movie_id, ts, part from split_interactions where strategy = 'per_user'")
    by_user = {}
    for u, m, t, p in rows:
        by_user.setdefault(u, []).append(((t, m), order[p]))
    for u, events in by_user.items():
        events.sort()
        parts = [p for _, p in events]
        assert parts == sorted(parts), f"user {u}: a held-out row is older than a train row"
        n = len(events)
        if cfg.holdout_unit == "count":
            assert parts.count(2) == min(n, int(cfg.holdout_test))
        else:
            assert parts.count(2) == min(n, max(1, round(cfg.holdout_test * n)))


def test_test_rows_never_influence_train_or_val():
    """With explicit cut-off dates, rewriting every test-period row leaves train and val as they were."""
    base = [(u, m, 5.0, t) for u in range(1, 8) for m in range(1, 12) for t in [(u * 37 + m * 11) % 300]]
    cfg = Settings(val_start="2001-09-09 01:50:00", test_start="2001-09-09 01:51:40")  # 1e9+200, 1e9+300 - 100
    con = _warehouse(base)
    build_splits(con, SQL, cfg)
    query = "select user_id, movie_id, part, kept from split_interactions where strategy = 'global' and part <> 'test' order by all"
    before = _rows(con, query)
    assert any(p == "val" for _, _, p, _ in before)
    con.execute("update raw_ratings set movie_id = movie_id + 100, user_id = user_id + 50 where ts >= epoch(?::timestamp)", [cfg.test_start])
    build_splits(con, SQL, cfg)
    assert _rows(con, query) == before


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=rating_logs, cfg=split_settings)
def test_sub_threshold_ratings_fall_in_the_period_they_were_made(log, cfg):
    """Every latest rating below the threshold is a negative exactly once, in the period its
    time falls in: global by the cut-offs, per-user from the user's first val / test positive."""
    con = _warehouse(log)
    build_splits(con, SQL, cfg)
    below = set(_rows(con, "select user_id, movie_id, ts from rated_below_threshold"))
    rows = _rows(con, "select user_id, movie_id, ts, global_part, per_user_part from split_negatives")
    assert {(u, m, t) for u, m, t, _, _ in rows} == below and len(rows) == len(below)
    assert not {(u, m) for u, m, *_ in rows} & set(_rows(con, "select user_id, movie_id from interactions"))
    (val_start, test_start) = _rows(
        con, "select epoch(val_start)::bigint, epoch(test_start)::bigint from split_cutoffs where strategy = 'global'")[0]
    starts = {}
    for u, t, p in _rows(con, "select user_id, ts, part from split_interactions where strategy = 'per_user'"):
        starts.setdefault(u, {}).setdefault(p, t)
        starts[u][p] = min(starts[u][p], t)
    for u, _, t, global_part, per_user_part in rows:
        assert global_part == ("train" if val_start is None or t < val_start else "val" if t < test_start else "test")
        first = starts.get(u, {})
        test_from = first.get("test")
        val_from = first.get("val", test_from)
        expected = ("test" if test_from is not None and t >= test_from
                    else "val" if val_from is not None and t >= val_from else "train")
        assert per_user_part == expected
