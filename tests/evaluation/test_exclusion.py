"""What a list may hold: never a movie the user rated before the cut-off (at any value), and
only those: ratings after the cut-off stay candidates, so evaluation never peeks ahead."""

import numpy as np
import scipy.sparse as sp

from recommender.evaluation.evaluate import evaluate, item_space
from recommender.jobs import pipeline
from recommender.lists.served import popularity_fallback, served_lists
from recommender.models import Popular
from recommender.sparse import csr_contains
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse import build_splits, connect, ingest, migrate
from tests.movielens_fixtures import random_movielens


def _workbench(tmp_path, settings):
    con = connect(settings)
    sql = SqlLibrary(settings.sql_dir)
    migrate(con, settings.sql_dir)
    ingest(con, sql, random_movielens(tmp_path / "ml", users=60, movies=30))
    build_splits(con, sql, settings)
    return con, pipeline.Workbench(con, sql, settings)


def test_evaluated_lists_leave_out_every_movie_rated_before_the_cut_off(tmp_path, settings):
    con, wb = _workbench(tmp_path, settings.replace(split_strategy="per_user"))
    try:
        data = wb.data
        history = data.matrix("train", "val")
        rated = data.excluded("train", "val")
        negatives_before = (rated - history).nnz
        assert negatives_before > 0  # the fixture has sub-threshold ratings before the cut-off
        # nothing from the test period is excluded: its positives and negatives stay candidates
        assert not csr_contains(rated, *data.matrix("test").nonzero()).any()
        test_negatives = data.negatives.filter(np.asarray(data.negatives.column("part_code")) == 2)
        assert test_negatives.num_rows > 0
        assert not csr_contains(
            rated, test_negatives.column("user_idx").to_numpy(), test_negatives.column("item_idx").to_numpy()
        ).any()
        model = Popular().fit(history)
        items = item_space(history, wb.item_genres)
        strict = evaluate(model, data, "test", ("train", "val"), (10,), items, exclude_rated=True)
        lenient = evaluate(model, data, "test", ("train", "val"), (10,), items, exclude_rated=False)
        rows = strict.user_index[:, None]
        assert not csr_contains(rated, rows, np.maximum(strict.top.items, 0))[strict.top.items >= 0].any()
        assert csr_contains(rated, rows, np.maximum(lenient.top.items, 0))[lenient.top.items >= 0].any()
        assert strict.value("precision", 10) >= lenient.value("precision", 10)
    finally:
        con.close()


def test_a_user_without_positives_gets_popular_items_they_did_not_rate():
    history = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0]], np.float32))
    rated = history.copy().tolil()
    rated[1, 0] = 1  # user 1 rated the most popular movie, below the threshold
    rated = rated.tocsr()
    fallback = popularity_fallback(history)
    lists = served_lists(fallback, np.arange(3), history, 3, fallback, exclude=rated)
    assert lists.filled[1].all() and 0 not in lists.items[1]
    assert not lists.filled[0].any()  # the others are the model's own
    for u in range(3):
        assert not csr_contains(rated, np.full(3, u), lists.items[u]).any()
