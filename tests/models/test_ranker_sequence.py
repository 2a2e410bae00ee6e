"""The ranker's sequence features: a candidate's mean similarity to the user's newest positives."""

import numpy as np
import scipy.sparse as sp

from recommender.models import ALS, ItemKNN
from recommender.models.ranker import SEQUENCE_DEPTHS, SEQUENCE_FEATURES, sequence_features


def _fitted(seed: int = 0):
    rng = np.random.default_rng(seed)
    user_items = sp.csr_matrix((rng.random((40, 30)) < 0.3).astype(np.float32))
    knn = ItemKNN({"neighbours": None}).fit(user_items)
    als = ALS({"factors": 4, "iterations": 3}).fit(user_items)
    return {"itemknn": knn, "als": als}


def test_each_depth_averages_the_newest_positives_by_both_similarities():
    sources = _fitted()
    recent = np.full((3, 25), -1, dtype=np.int64)
    recent[0, :7] = [4, 9, 2, 11, 3, 8, 20]  # newest first
    recent[1, :1] = [5]
    row = np.array([0, 0, 1, 2])
    item = np.array([1, 6, 7, 0])
    out = sequence_features(sources, recent, row, item)
    assert out.shape == (4, len(SEQUENCE_FEATURES))
    sim = sources["itemknn"].model_.similarity.toarray()
    unit = sources["als"].item_factors / np.linalg.norm(sources["als"].item_factors, axis=1, keepdims=True)
    for j, (r, i) in enumerate(zip(row, item)):
        positives = recent[r][recent[r] >= 0]
        for at, d in enumerate(SEQUENCE_DEPTHS):
            newest = positives[:d]
            if not len(newest):  # user 2 has no positive: every feature is missing
                assert np.isnan(out[j, at]) and np.isnan(out[j, len(SEQUENCE_DEPTHS) + at])
                continue
            np.testing.assert_allclose(out[j, at], sim[newest, i].mean(), rtol=1e-5)
            np.testing.assert_allclose(out[j, len(SEQUENCE_DEPTHS) + at], (unit[newest] @ unit[i]).mean(), rtol=1e-4)
    # user 1 has one positive: its three depths agree
    assert out[2, 0] == out[2, 1] == out[2, 2]


def test_a_narrower_window_is_padded():
    sources = _fitted(1)
    recent = np.array([[3, 1, -1]])
    wide = np.pad(recent, ((0, 0), (0, 30)), constant_values=-1)
    row, item = np.zeros(2, dtype=np.int64), np.array([5, 6])
    np.testing.assert_array_equal(
        sequence_features(sources, recent, row, item), sequence_features(sources, wide, row, item)
    )
