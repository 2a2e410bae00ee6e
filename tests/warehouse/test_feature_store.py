"""The feature store is point-in-time correct: no rating after the cut-off changes a feature."""

import numpy as np

from recommender.config import Settings
from recommender.warehouse import build_splits, connect, ingest, migrate
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.features import FEATURE_NAMES, pair_features
from tests.movielens_fixtures import random_movielens

VAL_START, TEST_START = "2001-11-01", "2001-12-01"  # the fixture spans 2001-09..2002-01


def _warehouse(tmp_path, *, users: int, movies: int, seed: int):
    """(connection, SQL library, settings) of a warehouse holding a random MovieLens folder,
    split globally at VAL_START / TEST_START."""
    folder = random_movielens(tmp_path / "ml", users=users, movies=movies, seed=seed)
    settings = Settings(
        warehouse=tmp_path / "w.duckdb", split_strategy="global", val_start=VAL_START, test_start=TEST_START
    )
    sql = SqlLibrary(settings.sql_dir)
    con = connect(settings)
    migrate(con, settings.sql_dir)
    ingest(con, sql, folder)
    build_splits(con, sql, settings)
    return con, sql, settings


def test_no_rating_after_the_cutoff_changes_a_feature(tmp_path):
    con, sql, settings = _warehouse(tmp_path, users=60, movies=80, seed=5)
    users = np.repeat(np.arange(1, 61), 80)
    movies = np.tile(np.arange(1, 81), 60)

    def features(upto):
        return pair_features(con, sql, "global", upto, users, movies)

    before_train, before_val = features("train"), features("val")
    assert before_train.shape == (len(users), len(FEATURE_NAMES))
    assert np.isfinite(before_train[:, FEATURE_NAMES.index("positive_count")]).any()
    # rewrite everything from the test start on: every value there flipped, and new ratings of
    # pairs never rated before (a pair re-rated after the cut-off is another matter: the latest
    # rating of a pair decides its part, see the feature store in docs/ranking.md)
    cutoff = con.execute("select epoch(?::timestamp)", [TEST_START]).fetchall()[0][0]
    con.execute("update raw_ratings set rating = 5.5 - rating where ts >= ?", [cutoff])
    con.execute(
        "insert into raw_ratings select u.user_id, m.movie_id, 5.0, ? + 3600 "
        "from (select distinct user_id from raw_ratings) u cross join raw_movies m "
        "where not exists (select 1 from raw_ratings r where r.user_id = u.user_id and r.movie_id = m.movie_id) "
        "and (u.user_id + m.movie_id) % 3 = 0",
        [cutoff],
    )
    build_splits(con, sql, settings)
    # equal up to the last bits of a parallel average (DuckDB may sum in another order)
    np.testing.assert_allclose(features("val"), before_val, rtol=1e-6, equal_nan=True)  # train+val: before test
    np.testing.assert_allclose(features("train"), before_train, rtol=1e-6, equal_nan=True)
    # and the features do move when history itself changes: the check can fail
    con.execute("update raw_ratings set rating = 0.5 where ts < epoch(?::timestamp)", [VAL_START])
    build_splits(con, sql, settings)
    assert not np.allclose(features("train"), before_train, rtol=1e-3, equal_nan=True)
    con.close()


def test_a_visitors_columns_follow_the_feature_stores_rules(tmp_path):
    """visitor_features, given a user's own positives and rating count as picks, gives the
    user's pair columns the feature store computes from the same history in SQL (genre
    affinity, year distance, favourite genre, the counts)."""
    from recommender.warehouse.export import load_item_genres, load_item_years, load_split
    from recommender.warehouse.features import visitor_features

    con, sql, _ = _warehouse(tmp_path, users=40, movies=60, seed=9)
    data = load_split(con, sql, "global")
    history, rated = data.matrix("train"), data.excluded("train")
    genres, _ = load_item_genres(con, sql, data.item_ids)
    years = load_item_years(con, sql, data.item_ids)
    users = np.flatnonzero(np.diff(history.indptr) > 0)[:12]
    row = np.repeat(np.arange(len(users)), len(data.item_ids))
    item = np.tile(np.arange(len(data.item_ids)), len(users))
    stored = pair_features(con, sql, "global", "train", data.user_ids[users[row]], data.item_ids[item])
    unknown = pair_features(con, sql, "global", "train", np.full(len(row), -1), data.item_ids[item])
    liked = [history.indices[history.indptr[u] : history.indptr[u + 1]] for u in users]
    made = visitor_features(unknown, liked, np.diff(rated.indptr)[users], row, item, genres, years)
    for name in ("user_rating_count", "user_positive_count", "genre_affinity", "year_distance", "in_favourite_genre"):
        column = FEATURE_NAMES.index(name)
        np.testing.assert_allclose(made[:, column], stored[:, column], rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=name)
    # the item's own columns are the store's, whoever asks
    column = FEATURE_NAMES.index("positive_count")
    np.testing.assert_array_equal(made[:, column], stored[:, column])
    con.close()


def test_the_in_memory_features_equal_the_sqls(tmp_path):
    """FeatureArrays (the ranker's features at serving and publication) computes every column
    of pair_features.sql, to its rounding, on random pairs: known and unknown users and movies,
    for two histories of both split strategies."""
    from recommender.warehouse.feature_arrays import FeatureArrays
    from recommender.warehouse.features import materialize_features

    con, sql, settings = _warehouse(tmp_path, users=70, movies=90, seed=13)
    rng = np.random.default_rng(4)
    users = rng.integers(-3, 75, size=3000)  # ids 71..74 and the negatives are unknown
    movies = rng.integers(-3, 95, size=3000)
    checked = 0
    for strategy in ("global", "per_user"):
        if strategy == "per_user":
            build_splits(con, sql, Settings(warehouse=settings.warehouse, split_strategy="per_user"))
        for upto in ("train", "val"):
            materialize_features(con, sql, strategy, upto)
            expected = pair_features(con, sql, strategy, upto, users, movies, materialized=True)
            got = FeatureArrays.load(con).pairs(users, movies)
            assert got.dtype == np.float32 and got.shape == expected.shape
            for f, name in enumerate(FEATURE_NAMES):
                np.testing.assert_allclose(got[:, f], expected[:, f], rtol=0, atol=1e-6, equal_nan=True, err_msg=name)
            checked += int(np.isfinite(expected).sum())
    assert checked > 3000 * len(FEATURE_NAMES)  # most values are present, not NaN on both sides
    # the check can fail: a pair's features read for another user differ
    assert not np.allclose(FeatureArrays.load(con).pairs(users + 1, movies), expected, equal_nan=True)
    con.close()
