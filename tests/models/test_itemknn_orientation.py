"""ItemKNN must be fitted on user x item: item x user silently learns user-user similarity."""

import numpy as np
import scipy.sparse as sp

from recommender.models import create
from recommender.models.itemknn import ItemKNN


def test_recommends_the_item_co_consumed_with_the_history():
    # 30 users watched both 0 and 1; users also watched unrelated filler items 2..9 at random.
    rng = np.random.default_rng(0)
    dense = np.zeros((40, 10), np.float32)
    dense[:30, 0] = dense[:30, 1] = 1
    dense[np.arange(40), rng.integers(2, 10, 40)] = 1
    dense[39, :] = 0
    dense[39, 0] = 1  # the test user: watched item 0 only
    m = sp.csr_matrix(dense)
    model = create("itemknn", {"neighbours": 10}).fit(m)
    top = model.recommend(np.array([39]), m, 1)
    assert top.items[0, 0] == 1
    assert top.scores[0, 0] > 0.5


def test_similarity_is_item_by_item():
    m = sp.csr_matrix(np.eye(7, 4, dtype=np.float32))  # 7 users x 4 items
    model = ItemKNN({"neighbours": 5}).fit(m)
    assert model.model_.similarity.shape == (4, 4)
