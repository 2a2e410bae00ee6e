"""The ranker's cross-validation boosters: scored every ROUND_STEP rounds, stopped when flat."""

import lightgbm
import numpy as np
import pytest

from recommender.config import Settings
from recommender.jobs import two_stage


class _Bench:
    settings = Settings(threads=1)


def _queries(seed: int = 0, users: int = 60, per_user: int = 20):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(users * per_user, len(two_stage.ALL_FEATURES)))
    label = (x[:, 0] + 0.5 * rng.normal(size=len(x)) > 1.2).astype(np.float32)
    return x, label, np.repeat(np.arange(users), per_user)


def test_held_out_scores_are_the_full_boosters_and_training_stops_once_flat():
    x, label, row = _queries()
    held_x = _queries(seed=1)[0]
    values = iter([0.10, 0.20, 0.15, 0.14, 0.30, 0.40])  # best at 50 rounds, then two flat steps
    steps = two_stage._HeldOutSteps(held_x, lambda score: next(values), lightgbm, 1)
    params = {"rounds": 150, "leaves": 7, "learning_rate": 0.05}
    booster = two_stage._train(lightgbm, x, label, row, params, _Bench(), steps)
    stop = 50 + two_stage.PATIENCE * two_stage.ROUND_STEP
    assert sorted(steps.scores) == list(range(two_stage.ROUND_STEP, stop + 1, two_stage.ROUND_STEP))
    assert steps.best == (0.20, 50)
    assert booster.current_iteration() == stop  # every tree grown is kept
    full = two_stage._train(lightgbm, x, label, row, params, _Bench())
    for rounds, score in steps.scores.items():
        assert score == pytest.approx(full.predict(held_x, num_iteration=rounds), abs=1e-9)
