"""One contract, every model (as implicit's own RecommenderBase test mixin does)."""

import lightgbm
import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models import MODEL_NAMES, ModelError, create, load
from recommender.models.ranker import RANKER_FEATURES, SOURCES, TwoStageRanker, candidate_pool, load_ranker, pair_inputs
from recommender.names import RANKER
from recommender.sparse import recent_history
from recommender.warehouse.features import FEATURE_NAMES


def two_taste_matrix():
    """Users 0-4 like items 0-4, users 5-9 like items 5-9; each user misses one item of their taste.

    The known right answer: a personalised model puts the missing item of the user's own
    taste first. Item 10 is liked by nobody in train but exists in the catalogue.
    """
    rows, cols = [], []
    for u in range(10):
        group = range(0, 5) if u < 5 else range(5, 10)
        missing = list(group)[u % 5]
        for i in group:
            if i != missing:
                rows.append(u)
                cols.append(i)
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(11, 11))  # row 10: no history
    return m


FACTORIES = {
    "popular": lambda: create("popular"),
    "itemknn": lambda: create("itemknn", {"neighbours": 20}),
    "als": lambda: create("als", {"factors": 4, "iterations": 30, "regularization": 0.01, "alpha": 5.0}, seed=3),
    "diverse": lambda: create(
        "diverse", {"factors": 4, "iterations": 30, "regularization": 0.01, "alpha": 5.0, "lam": 0.3}, seed=3
    ),
    "hybrid": lambda: create(
        "hybrid", {"factors": 4, "iterations": 30, "regularization": 0.01, "alpha": 5.0, "weight": 0.2}, seed=3
    ),
    "ease": lambda: create("ease", {"lam": 1.0}),
}
assert set(FACTORIES) == set(MODEL_NAMES)


def fitted_ranker(m: sp.csr_matrix) -> TwoStageRanker:
    """The two-stage ranker over its four sources fitted on ``m``, with a booster trained on
    their candidates for ``m``'s own rows (labels: whether the user's taste group holds the
    item) and a feature store that knows nothing (every feature missing)."""
    sources = {name: FACTORIES[name]().fit(m) for name in SOURCES}
    recent = recent_history(m, m, 20)  # every time equal: newest first by index

    def features(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full((len(rows), len(FEATURE_NAMES)), np.nan, dtype=np.float32)

    users = np.arange(m.shape[0])
    row, item, source_features = candidate_pool(sources, users, m, m, 10)
    x = pair_inputs(sources, users, row, item, source_features, features, recent)
    label = ((users[row] < 5) == (item < 5)).astype(np.float32)
    groups = np.bincount(row, minlength=len(users))
    booster = lightgbm.train(
        {"objective": "lambdarank", "num_leaves": 3, "min_data_in_leaf": 1, "verbose": -1, "seed": 1,
         "deterministic": True, "force_col_wise": True, "num_threads": 1},
        lightgbm.Dataset(x, label, group=groups[groups > 0], feature_name=list(RANKER_FEATURES)),
        num_boost_round=5,
    )  # fmt: skip
    return TwoStageRanker({"candidates": 10}, seed=1).attach(sources, booster, features, recent)


#: Every model the API serves: the registry's and the two-stage ranker (trained on their candidates).
CONTRACT = (*MODEL_NAMES, RANKER)


@pytest.fixture(params=CONTRACT)
def fitted(request):
    m = two_taste_matrix()
    model = fitted_ranker(m) if request.param == RANKER else FACTORIES[request.param]().fit(m)
    return request.param, model, m


def test_lists_are_unseen_unique_and_padded(fitted):
    name, model, m = fitted
    users = np.arange(11)
    top = model.recommend(users, m, 5)
    assert top.items.shape == top.scores.shape == (11, 5)
    for u in users:
        items = top.items[u][top.items[u] >= 0]
        assert len(set(items)) == len(items), f"{name}: repeated item"
        assert not set(items) & set(m[u].indices), f"{name}: recommended a seen item"
        assert np.isfinite(top.scores[u][: len(items)]).all()


#: ItemKNN and EASE score items from the history alone; without one they cannot rank anything.
#: The ranker ranks its sources' candidates, popular's among them: every item, history or not.
SCORES_EVERY_ITEM = {"popular", "als", "diverse", "hybrid", RANKER}


def test_k_larger_than_catalogue_pads_with_minus_one(fitted):
    name, model, m = fitted
    top = model.recommend(np.array([0]), m, 50)
    items = top.items[0]
    n_valid = (items >= 0).sum()
    if name in SCORES_EVERY_ITEM:
        assert n_valid == 11 - m[0].nnz, f"{name}: every unseen item, once"
    else:
        assert 0 < n_valid <= 11 - m[0].nnz
    assert (items[:n_valid] >= 0).all(), "valid items first"
    assert (items[n_valid:] == -1).all() and np.isnan(top.scores[0][n_valid:]).all()


def test_empty_history(fitted):
    """A user with no history: k items from models that score everything, else an empty
    (all -1) list - never an error. The serving layer's popular fallback covers the latter."""
    name, model, m = fitted
    top = model.recommend(np.array([10]), m, 3)
    if name in SCORES_EVERY_ITEM:
        assert (top.items[0] >= 0).all(), f"{name}: a user with no history got an empty list"
    else:
        assert (top.items[0] == -1).all()


def test_unknown_user_is_refused(fitted):
    name, model, m = fitted
    with pytest.raises(ModelError, match="user"):
        model.recommend(np.array([11]), m, 3)


@pytest.mark.parametrize("name", ["itemknn", "als", "diverse"])
def test_personalised_models_find_the_missing_item(name):
    m = two_taste_matrix()
    model = FACTORIES[name]().fit(m)
    top = model.recommend(np.arange(10), m, 1)
    expected = [list(range(0, 5))[u % 5] if u < 5 else list(range(5, 10))[u % 5] for u in range(10)]
    assert top.items[:, 0].tolist() == expected


def test_popular_ranks_by_count_and_filters_seen():
    m = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    model = create("popular").fit(m)
    assert model.recommend(np.array([3]), m, 4).items[0].tolist() == [0, 1, 2, 3]
    assert model.recommend(np.array([1]), m, 2).items[0].tolist() == [2, 3]


def test_popular_recent_window():
    m = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [1, 0, 1]], dtype=np.float32))
    day = 86400.0
    times = m.copy()
    times.data = np.array([0, 100 * day, 0, 100 * day, 0, 99 * day])  # item 0 old; item 2 recent twice
    model = create("popular", {"window_days": 30}).fit(m, times=times)
    assert model.recommend(np.array([0]), sp.csr_matrix((1, 3), dtype=np.float32), 3).items[0].tolist() == [2, 1, 0]
    with pytest.raises(ModelError, match="needs interaction times"):
        create("popular", {"window_days": 30}).fit(m)


def test_save_load_round_trip(fitted, tmp_path):
    name, model, m = fitted
    path = model.save(tmp_path / f"{name}.npz")
    with np.load(path, allow_pickle=False) as data:  # plain arrays: loads without pickle
        assert "__meta__" in data.files
    if name == RANKER:  # its artifact is the booster; a version attaches its sources again
        loaded = load_ranker(path)
        again = loaded.attach(model.sources, loaded.booster, model.features, model.recent)
    else:
        again = load(path)
    assert type(again) is type(model) and again.params == model.params
    a, b = model.recommend(np.arange(11), m, 4), again.recommend(np.arange(11), m, 4)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_same_seed_same_lists():
    m = two_taste_matrix()
    a = FACTORIES["als"]().fit(m).recommend(np.arange(11), m, 5)
    b = FACTORIES["als"]().fit(m).recommend(np.arange(11), m, 5)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_bad_names_params_and_usage(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        create("svd")
    with pytest.raises(ModelError, match="unknown parameter"):
        create("als", {"factor": 3})
    with pytest.raises(ModelError, match="lam"):
        create("diverse", {"lam": 2})
    with pytest.raises(ModelError, match="fit"):
        create("als").recommend(np.array([0]), two_taste_matrix(), 3)
    bogus = tmp_path / "x.npz"
    np.savez(bogus, a=np.zeros(3))
    with pytest.raises(ModelError, match="no metadata"):
        load(bogus)
    with pytest.raises(ModelError, match="k must be positive"):
        create("popular").fit(two_taste_matrix()).recommend(np.array([0]), two_taste_matrix(), 0)


#: Models without an item similarity: popular ranks by counts; the ranker ranks for users.
NO_SIMILARITY = {"popular", RANKER}


def test_similar_items_are_other_items_best_first(fitted):
    """Each of items 0..10's most similar items: never itself, unique, best first, -1 / NaN
    padded; by co-occurrence (ItemKNN, EASE), item 0's come from its own taste group (items
    0-4). (ALS's 4 factors on 11 items do not separate the groups that cleanly.)"""
    name, model, m = fitted
    items = np.arange(11)
    if name in NO_SIMILARITY:
        with pytest.raises(ModelError, match="no item similarity"):
            model.similar_items(items, 3)
        return
    similar, scores = model.similar_items(items, 3)
    assert similar.shape == scores.shape == (11, 3)
    for item, row, values in zip(items, similar, scores):
        found = row[row >= 0]
        assert item not in found and len(set(found)) == len(found), f"{name}: item {item}: {row}"
        assert (row[len(found) :] == -1).all() and np.isnan(values[len(found) :]).all()
        assert (np.diff(values[: len(found)]) <= 1e-6).all(), f"{name}: not best first: {values}"
    if name in ("itemknn", "ease"):
        assert set(similar[0][similar[0] >= 0]) <= set(range(5)), f"{name}: {similar[0]}"
