"""The sequential search and the tuning sample."""

import numpy as np

from recommender.evaluation.tuning import full_grid, search


def test_choice_only_spaces_are_tried_in_full_and_sampled_spaces_are_searched():
    assert len(full_grid("popular")) == 7
    assert full_grid("als") is None and full_grid("ease") is None


def test_the_search_is_seeded_and_follows_the_score():
    def run(seed):
        seen = []

        def objective(params, report):
            seen.append(params["lam"])
            return -abs(np.log10(params["lam"]) - 2.0)  # best at lambda = 100

        search("ease", 12, seed, objective)
        return seen

    first, again = run(1), run(1)
    assert first == again  # same seed, same trials
    assert min(abs(np.log10(x) - 2.0) for x in first[6:]) < min(abs(np.log10(x) - 2.0) for x in first[:2])


def test_a_pruned_trial_stops_early():
    steps = []

    def objective(params, report):
        value = params["factors"] / 1000.0
        for step in range(1, 6):
            steps.append(step)
            report(value, step)
        return value

    search("als", 12, 0, objective)
    assert len(steps) < 12 * 5  # some trials trailed the median and stopped


def test_a_user_sample_keeps_items_and_reindexes_users(loaded_warehouse, sql):
    from recommender.warehouse.export import load_split

    con, settings = loaded_warehouse
    data = load_split(con, sql, settings.split_strategy)
    n = max(2, len(data.user_ids) // 2)
    sample = data.sample_users(n, seed=3)
    assert len(sample.user_ids) == n and np.array_equal(sample.item_ids, data.item_ids)
    assert set(sample.user_ids) <= set(data.user_ids)
    full, part = data.matrix("train"), sample.matrix("train")
    rows = data.user_index(sample.user_ids)
    assert (full[rows] != part).nnz == 0  # the same rows, re-indexed
    assert data.sample_users(len(data.user_ids) + 5, seed=3) is data


def test_the_als_start_up_is_an_orthogonal_array_over_the_ends_and_middle_of_each_range():
    from recommender.evaluation.tuning import SEARCH_SPACES, levels, start_up_design

    space = SEARCH_SPACES["als"]
    design = start_up_design(space)
    assert len(design) == 9
    for name in space:
        ends = levels(space[name], 3)
        assert sorted(p[name] for p in design) == sorted(ends * 3)  # each level three times
    names = list(space)
    for a, b in [(0, 1), (0, 2), (1, 2)]:  # every pair of levels of two parameters once
        assert len({(p[names[a]], p[names[b]]) for p in design}) == 9


def test_als_is_searched_with_regularization_as_a_multiple_of_alpha():
    seen = []

    def objective(params, report):
        seen.append(params)
        return 0.0

    search("als", 10, 0, objective)
    assert all(set(p) == {"factors", "regularization", "alpha"} for p in seen)
    assert {round(p["regularization"] / p["alpha"], 6) for p in seen[:9]} == {0.01, round(30**0.5 * 0.1, 6), 30.0}


def test_a_one_range_search_is_a_log_grid_refined_around_its_best_point():
    seen = []

    def objective(params, report):
        seen.append(params["lam"])
        return -abs(np.log10(params["lam"]) - 2.3)

    search("ease", 9, 0, objective)
    grid = list(np.geomspace(10, 1e4, 7))
    assert np.allclose(seen[:7], grid)
    best = grid[3]  # 10^2.5 is nearest 10^2.3
    assert np.allclose(seen[7:], [np.sqrt(best * grid[2]), np.sqrt(best * grid[4])])


def test_itemknn_keeps_every_similarity_only_where_they_fit():
    import scipy.sparse as sp

    from recommender.evaluation import tuning

    rng = np.random.default_rng(0)
    small = sp.csr_matrix((rng.random((50, 40)) < 0.3).astype(np.float32))
    assert {"neighbours": None, "scoring_neighbours": None} in full_grid("itemknn", small)
    assert len(full_grid("itemknn", small)) == 14
    binary = small.astype(bool).astype(np.float32)
    assert tuning.similarity_count(small) == (binary.T @ binary).nnz
    # one user with 4,000 of 20,000 items: 16M co-occurring pairs; 1000 neighbours each is 20M
    wide = sp.csr_matrix((np.ones(4000, np.float32), (np.zeros(4000, int), np.arange(4000))), shape=(1, 20_000))
    choices = {g["neighbours"] for g in full_grid("itemknn", wide)}
    assert None not in choices and 1000 not in choices and 500 in choices


def test_a_search_among_a_grid_only_tries_the_grids_configurations():
    grid = [{"neighbours": n, "scoring_neighbours": None} for n in (20, 50, 100, 200)]
    seen = []

    def objective(params, report):
        seen.append(params)
        return params["neighbours"] / 1000

    search("itemknn", 6, 0, objective, grid)
    assert len(seen) == 6 and all(p in grid for p in seen)  # never every similarity (None)
