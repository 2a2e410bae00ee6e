"""Search spaces and candidate configurations for `recsys tune` (always scored on val)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

#: Main parameters per model; tuning samples from their product.
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "popular": {"window_days": [None, 30, 90, 180, 365, 730, 1825]},
    "itemknn": {"neighbours": [10, 20, 50, 100, 200, 400]},
    "als": {
        "factors": [16, 32, 64, 128],
        "regularization": [0.01, 0.05, 0.1, 0.5, 1.0],
        "alpha": [1.0, 2.0, 5.0, 10.0, 20.0, 40.0],
        "iterations": [15],
    },
}
#: Diversity weights and similarities swept for the diverse model (its ALS part is the tuned ALS).
LAMBDAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SIMILARITIES = ("factors", "genres")
#: The diverse model takes the most diverse configuration whose val NDCG@10 keeps at least
#: (1 - MAX_NDCG_LOSS) of ALS's (lambda = 0): a product rule, stated up front.
MAX_NDCG_LOSS = 0.15


def grid_size(model: str) -> int:
    """How many configurations the model's search space holds."""
    return int(np.prod([len(values) for values in SEARCH_SPACES[model].values()]))


def candidate_configs(model: str, trials: int, seed: int) -> list[dict[str, Any]]:
    """``trials`` distinct configurations, a seeded random sample of the grid (all if it is smaller)."""
    space = SEARCH_SPACES[model]
    names = list(space)
    grid = [dict(zip(names, values)) for values in itertools.product(*(space[n] for n in names))]
    order = np.random.default_rng(seed).permutation(len(grid))
    return [grid[i] for i in order[: max(trials, 1)]]


def choose_diverse(points: list[tuple[Any, float, float]], base_ndcg: float, max_loss: float = MAX_NDCG_LOSS):
    """From (config, ndcg, diversity) points, the most diverse one within the allowed NDCG loss
    relative to ``base_ndcg`` (ALS's); ties go to the earlier point (smaller lambda)."""
    allowed = [p for p in points if p[1] >= (1.0 - max_loss) * base_ndcg]
    best = max(allowed, key=lambda p: p[2])  # max() keeps the first of equal values
    return best[0]
