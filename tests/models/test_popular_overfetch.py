"""Popular's candidates ignore history: heavy users still get k unseen items."""

import numpy as np
import scipy.sparse as sp

from recommender.models import create


def test_a_user_who_saw_the_whole_head_still_gets_k_items():
    n_items = 500
    counts = np.arange(n_items, 0, -1)  # item 0 most popular
    dense = np.zeros((12, n_items), np.float32)
    for i in range(n_items):  # popularity: item i is liked by counts[i] % 10 + 1 of users 1..10
        dense[1 : 1 + counts[i] % 10 + 1, i] = 1
    dense[0, :300] = 1  # user 0 has seen items 0..299, far more than one round of candidates
    m = sp.csr_matrix(dense)
    model = create("popular").fit(m)
    top = model.recommend(np.array([0, 11]), m, 10)
    assert (top.items >= 0).all()
    assert not set(top.items[0]) & set(range(300))
    ranking = model.ranking_.tolist()
    unseen = [i for i in ranking if i >= 300][:10]
    assert top.items[0].tolist() == unseen
    assert top.items[1].tolist() == ranking[:10]
