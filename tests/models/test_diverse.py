import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.models import ALS, DiverseALS, load, mmr_rerank


def _random_matrix(seed=0, users=60, items=40):
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < 0.15).astype(np.float32)
    return sp.csr_matrix(dense)


def test_lambda_zero_reproduces_als_exactly():
    m = _random_matrix()
    als = ALS({"factors": 8, "iterations": 10}, seed=1).fit(m)
    users = np.arange(m.shape[0])
    expected = als.recommend(users, m, 10)
    for model in (
        DiverseALS.from_als(als, {"factors": 8, "iterations": 10, "lam": 0.0}),
        DiverseALS({"factors": 8, "iterations": 10, "lam": 0.0}, seed=1).fit(m),
    ):
        got = model.recommend(users, m, 10)
        np.testing.assert_array_equal(got.items, expected.items)
        np.testing.assert_array_equal(got.scores, expected.scores)


def _ild(items, vectors):
    out = []
    for row in items:
        v = vectors[row[row >= 0]]
        s = v @ v.T
        n = len(v)
        out.append(1 - (s.sum() - np.trace(s)) / (n * (n - 1)))
    return np.mean(out)


def test_higher_lambda_more_diverse_lists():
    m = _random_matrix(users=100, items=80)
    als = ALS({"factors": 8, "iterations": 10}, seed=1).fit(m)
    users = np.arange(100)
    diversity = []
    for lam in (0.0, 0.3, 0.7):
        model = DiverseALS.from_als(als, {"factors": 8, "iterations": 10, "lam": lam, "candidates": 40})
        diversity.append(_ild(model.recommend(users, m, 10).items, model.vectors_))
    assert diversity[0] < diversity[1] < diversity[2]


def test_genre_similarity_option():
    m = _random_matrix()
    genres = sp.csr_matrix((np.arange(40) % 4 == np.arange(4)[:, None]).T.astype(np.float32))  # 4 genres
    model = DiverseALS({"factors": 8, "iterations": 5, "lam": 0.9, "similarity": "genres"}, item_genres=genres).fit(m)
    top = model.recommend(np.arange(5), m, 4)
    # with a strong lambda, four picks cover four different genres
    for row in top.items:
        assert len({i % 4 for i in row}) == 4


@settings(max_examples=50, deadline=None)
@given(
    n_cand=st.integers(1, 12),
    k=st.integers(1, 12),
    lam=st.floats(0, 1),
    seed=st.integers(0, 10_000),
)
def test_mmr_returns_a_permutation_subset_of_candidates(n_cand, k, lam, seed):
    rng = np.random.default_rng(seed)
    cand = np.stack([rng.permutation(30)[:n_cand] for _ in range(3)])
    cand[0, n_cand // 2 :] = -1  # a short list
    scores = np.where(cand >= 0, -np.sort(-rng.random(cand.shape), axis=1), np.nan)
    vectors = rng.normal(size=(30, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items, out_scores = mmr_rerank(cand, scores, vectors, lam, k)
    for r in range(3):
        picked = items[r][items[r] >= 0]
        valid = cand[r][cand[r] >= 0]
        assert len(picked) == min(k, len(valid))
        assert len(set(picked)) == len(picked) and set(picked) <= set(valid)
        if lam == 0:
            assert picked.tolist() == valid[: len(picked)].tolist()


def test_a_popularity_penalty_lowers_every_list_s_popularity_and_survives_saving(tmp_path):
    """The penalty trades relevance for less popular movies: the mean positives per listed movie
    falls as the penalty grows, for most users; the counts it reads travel with the artifact."""
    m = _random_matrix(seed=4, users=120, items=80)
    als = ALS({"factors": 8, "iterations": 10}, seed=1).fit(m)
    counts = np.asarray(m.sum(axis=0)).ravel()
    users = np.arange(120)
    params = {"factors": 8, "iterations": 10, "lam": 0.0, "candidates": 40}
    means = []
    for penalty in (0.0, 0.5, 2.0):
        model = DiverseALS.from_als(als, {**params, "popularity": penalty}, item_counts=counts)
        items = model.recommend(users, m, 10).items
        means.append(np.array([counts[row[row >= 0]].mean() for row in items]))
    assert (means[1] <= means[0]).mean() > 0.9 and means[1].mean() < means[0].mean()
    assert means[2].mean() < means[1].mean()
    fitted = DiverseALS({**params, "popularity": 2.0}, seed=1).fit(m)
    back = load(fitted.save(tmp_path / "d.npz"))
    np.testing.assert_array_equal(back.recommend(users, m, 10).items, fitted.recommend(users, m, 10).items)
    np.testing.assert_array_equal(back.item_counts, counts)
