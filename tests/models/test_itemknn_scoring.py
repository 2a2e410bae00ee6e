"""ItemKNN's scoring-time neighbour selection (LensKit's implicit-feedback rule): each candidate
sums only its ``scoring_neighbours`` largest similarities to the user's history items."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from implicit.nearest_neighbours import CosineRecommender

from recommender.models import ModelError, create, load
from recommender.models import itemknn as knn


def brute_force(sim: np.ndarray, history: np.ndarray, exclude: np.ndarray, m: int) -> list[dict[int, float]]:
    """Per user {item: score}: the m largest stored sim[i, j] over history items i, summed;
    excluded items and scores <= 0 left out (the rule as LensKit's score_implicit states it)."""
    out = []
    for u in range(history.shape[0]):
        seen = np.flatnonzero(history[u])
        scores = {}
        for j in range(sim.shape[1]):
            if exclude[u, j]:
                continue
            votes = sorted((sim[i, j] for i in seen if sim[i, j] != 0), reverse=True)[:m]
            if votes and sum(votes) > 0:
                scores[j] = float(sum(votes))
        out.append(scores)
    return out


def assert_lists_match(items: np.ndarray, scores: np.ndarray, expected: list[dict[int, float]]) -> None:
    for u, want in enumerate(expected):
        got = [(int(i), float(s)) for i, s in zip(items[u], scores[u]) if i >= 0]
        ranked = sorted(want.items(), key=lambda kv: -kv[1])[: items.shape[1]]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in ranked], rtol=1e-5, atol=1e-6)
        for i, s in got:
            assert want[i] == pytest.approx(s, rel=1e-5), (u, i)
        # the same items, up to ties at the cut
        last = ranked[-1][1] if ranked else 0
        assert {i for i, s in got if s > last + 1e-5} == {i for i, s in ranked if s > last + 1e-5}, u


def test_hand_made_similarities():
    # history items 0, 1, 2 of user 0; candidates 3 and 4
    sim = np.zeros((5, 5), np.float32)
    sim[0, 3], sim[1, 3], sim[2, 3] = 0.9, 0.5, 0.4  # m=2: 0.9 + 0.5
    sim[0, 4], sim[1, 4], sim[2, 4] = 0.1, 0.8, 0.7  # m=2: 0.8 + 0.7 = 1.5 > 1.4; all three: 1.6 < 1.8
    sim[3, 0] = 1.0  # row 3 is candidate 3's own neighbourhood: never read for user 0
    history = sp.csr_matrix(np.array([[1, 1, 1, 0, 0]], np.float32))
    items, scores = knn.scoring_time_candidates(sp.csr_matrix(sim), history, history, 5, 2)
    assert items[0].tolist() == [4, 3, -1, -1, -1]
    np.testing.assert_allclose(scores[0, :2], [1.5, 1.4], rtol=1e-6)
    items, scores = knn.scoring_time_candidates(sp.csr_matrix(sim), history, history, 5, 1)
    assert items[0, :2].tolist() == [3, 4]  # one neighbour each: 0.9 beats 0.8
    np.testing.assert_allclose(scores[0, :2], [0.9, 0.8], rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    m=st.integers(1, 8),
    neighbours=st.sampled_from([None, 3, 10]),
    n=st.integers(1, 25),
    batch=st.sampled_from([1, 7, 10_000]),
)
def test_matches_brute_force(seed, m, neighbours, n, batch):
    rng = np.random.default_rng(seed)
    users, items = 30, 25
    liked = rng.random((users, items)) < rng.uniform(0.05, 0.4)
    disliked = (rng.random((users, items)) < 0.1) & ~liked
    history = sp.csr_matrix(liked.astype(np.float32))
    exclude = sp.csr_matrix((liked | disliked).astype(np.float32))
    model = create("itemknn", {"neighbours": neighbours, "scoring_neighbours": m}).fit(history)
    expected = brute_force(model.model_.similarity.toarray(), liked, liked | disliked, m)
    saved, knn.TRIPLES_PER_BATCH = knn.TRIPLES_PER_BATCH, batch  # tiny batches: every row alone
    try:
        top = model.recommend(np.arange(users), history, n, exclude)
    finally:
        knn.TRIPLES_PER_BATCH = saved
    assert_lists_match(top.items, top.scores, expected)


def test_enough_scoring_neighbours_is_implicits_rule():
    """With m at least every history length, the scoring-time rule sums everything: the same
    scores as implicit's own scorer over the same stored similarities."""
    rng = np.random.default_rng(5)
    history = sp.csr_matrix((rng.random((60, 40)) < 0.2).astype(np.float32))
    m = int(np.diff(history.indptr).max())
    plain = create("itemknn", {"neighbours": 10}).fit(history).recommend(np.arange(60), history, 40)
    ours = (
        create("itemknn", {"neighbours": 10, "scoring_neighbours": m})
        .fit(history)
        .recommend(np.arange(60), history, 40)
    )
    np.testing.assert_allclose(ours.scores, plain.scores, rtol=1e-5)  # equal scores may swap places


@pytest.mark.filterwarnings("ignore:Method expects CSR input")
def test_every_similarity_is_implicits_with_k_the_catalogue():
    rng = np.random.default_rng(2)
    history = sp.csr_matrix((rng.random((50, 30)) < 0.2).astype(np.float32))
    theirs = CosineRecommender(K=30)
    theirs.fit(history, show_progress=False)
    ours = create("itemknn", {"neighbours": None}).fit(history).model_.similarity
    assert ours.shape == (30, 30)
    np.testing.assert_allclose(ours.toarray(), theirs.similarity.toarray(), atol=1e-6)


def test_min_similarity_drops_weak_pairs():
    rng = np.random.default_rng(4)
    history = sp.csr_matrix((rng.random((50, 30)) < 0.2).astype(np.float32))
    every = create("itemknn", {"neighbours": None}).fit(history).model_.similarity
    pruned = create("itemknn", {"neighbours": None, "min_similarity": 0.2}).fit(history).model_.similarity
    assert pruned.nnz < every.nnz and pruned.data.min() >= 0.2
    np.testing.assert_array_equal(pruned.toarray(), np.where(every.toarray() >= 0.2, every.toarray(), 0))


def test_lists_are_unseen_unique_and_padded():
    rng = np.random.default_rng(8)
    dense = (rng.random((20, 15)) < 0.3).astype(np.float32)
    dense[19] = 0  # a user with no history
    history = sp.csr_matrix(dense)
    model = create("itemknn", {"scoring_neighbours": 3}).fit(history)
    top = model.recommend(np.arange(20), history, 30)  # k larger than the catalogue
    assert top.items.shape == (20, 30)
    for u in range(20):
        valid = top.items[u][top.items[u] >= 0]
        assert len(set(valid)) == len(valid) and not set(valid) & set(history[u].indices)
        assert (top.items[u][len(valid) :] == -1).all() and np.isnan(top.scores[u][len(valid) :]).all()
        assert np.all(np.diff(top.scores[u][: len(valid)]) <= 0)
    assert (top.items[19] == -1).all()


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    history = sp.csr_matrix((rng.random((40, 25)) < 0.25).astype(np.float32))
    params = {"neighbours": None, "scoring_neighbours": 3, "min_similarity": 0.05}
    model = create("itemknn", params).fit(history)
    path = model.save(tmp_path / "itemknn.npz")
    with np.load(path, allow_pickle=False) as data:
        assert "sim_data" in data.files
    again = load(path)
    assert again.params == model.params and again.params.scoring_neighbours == 3
    a, b = model.recommend(np.arange(40), history, 8), again.recommend(np.arange(40), history, 8)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(model.similar_items(np.array([0]), 5)[0], again.similar_items(np.array([0]), 5)[0])


@pytest.mark.parametrize(
    "params", [{"scoring_neighbours": 0}, {"neighbours": 0}, {"min_similarity": -0.1}, {"min_similarity": 1.5}]
)
def test_bad_params_are_refused(params):
    with pytest.raises(ModelError):
        create("itemknn", params)


def test_sortable_keys_keep_float_order():
    values = np.array([-np.inf, -2.5, -1e-30, -0.0, 0.0, 1e-30, 0.3, 0.30000001, 7.0, np.inf], np.float32)
    keys = knn._sortable(values)
    assert np.all(np.diff(keys.astype(np.float64)) >= 0)
    np.testing.assert_array_equal(knn._unsortable(keys), values)
