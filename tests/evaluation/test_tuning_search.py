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
