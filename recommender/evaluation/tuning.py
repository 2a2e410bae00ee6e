"""Search spaces and the search itself for `recsys tune` (always scored on val).

A model whose space is a short list of choices (popular's windows) is tried in full. The
others are searched sequentially by Optuna's TPE sampler, seeded, within a trial budget:
each trial's configuration is drawn from where the earlier trials scored well. ALS is
fitted in steps of iterations, scored on val after each step, and stopped when val stops
improving (its ``iterations`` is the best step); a trial whose steps trail the median of
the earlier trials at the same step is pruned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Main parameters per model: a list is a set of choices; a Range is sampled (log scale if ``log``).


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = True
    integer: bool = False


SEARCH_SPACES: dict[str, dict[str, list[Any] | Range]] = {
    "popular": {"window_days": [None, 30, 90, 180, 365, 730, 1825]},
    # None (every similarity) scores best on ml-latest-small's val, but on a 25M catalogue every
    # co-occurring pair is far too many to keep: 1000 per item is the ceiling, and only the
    # choices within MAX_SIMILARITIES are tried (see tuning_grid)
    "itemknn": {"neighbours": [20, 50, 100, 200, 400, 1000]},
    "als": {
        "factors": Range(16, 256, integer=True),
        "regularization": Range(1e-3, 1e2),
        "alpha": Range(0.1, 100.0),
    },
    "ease": {"lam": Range(1.0, 1e4)},
}
#: Trials per model unless `--trials` says otherwise: the budget grows with the dimensions
#: searched (ALS: three, with pruning and early stopping keeping each trial cheap).
DEFAULT_TRIALS = {"popular": 7, "itemknn": 6, "als": 30, "ease": 6}
#: ItemKNN keeps at most this many similarities (items x neighbours: 12M is ~150 MB, and its
#: lists and reasons cost in proportion): 1000 per item on ml-latest-small, 200 on a 59k catalogue.
MAX_SIMILARITIES = 12_000_000
#: ALS is fitted ITERATION_STEP iterations at a time, at most MAX_ITERATIONS.
ITERATION_STEP = 5
MAX_ITERATIONS = 20
#: Trials drawn at random before the sampler models the scores, and before pruning starts.
STARTUP_TRIALS = 4

#: Popularity weights and windows swept for the hybrid (its ALS part is the tuned ALS).
BLEND_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
BLEND_WINDOWS = (None, 365)
#: Diversity weights and similarities swept for the diverse model (its ALS part is the tuned ALS).
LAMBDAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SIMILARITIES = ("factors", "genres")
#: The diverse model takes the most diverse configuration whose val NDCG@10 keeps at least
#: (1 - MAX_NDCG_LOSS) of ALS's (lambda = 0): a product rule, stated up front.
MAX_NDCG_LOSS = 0.15


def full_grid(model: str, n_items: int | None = None) -> list[dict[str, Any]] | None:
    """Every configuration of a model whose space is only choices; None for a sampled space.
    ``n_items``: the catalogue size, which bounds ItemKNN's choices (MAX_SIMILARITIES)."""
    space = SEARCH_SPACES[model]
    if any(isinstance(values, Range) for values in space.values()):
        return None
    names = list(space)
    grid = [dict(zip(names, values)) for values in itertools.product(*(space[n] for n in names))]
    if model == "itemknn" and n_items:
        affordable = [g for g in grid if g["neighbours"] * n_items <= MAX_SIMILARITIES]
        grid = affordable or grid[:1]
    return grid


class Pruned(Exception):
    """Raised by a trial's step report when the trial trails the others (Optuna prunes it)."""


def search(
    model: str,
    trials: int,
    seed: int,
    objective: Callable[[dict[str, Any], Callable[[float, int], None]], float],
) -> None:
    """Run ``trials`` trials of ``objective(params, report)``, each returning its val score;
    ``report(value, step)`` lets a trial report intermediate scores (and raises Pruned when
    it should stop). The objective keeps its own record of the runs."""
    import optuna  # imported on use: it takes a moment

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = SEARCH_SPACES[model]
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=0),
    )

    def run_trial(trial: optuna.Trial) -> float:
        params = {name: _suggest(trial, name, values) for name, values in space.items()}

        def report(value: float, step: int) -> None:
            trial.report(value, step)
            if trial.should_prune():
                raise Pruned

        try:
            return objective(params, report)
        except Pruned:
            raise optuna.TrialPruned() from None

    study.optimize(run_trial, n_trials=trials)


def _suggest(trial, name: str, values: list[Any] | Range) -> Any:
    if not isinstance(values, Range):
        return trial.suggest_categorical(name, values)
    if values.integer:
        return trial.suggest_int(name, int(values.low), int(values.high), log=values.log)
    return trial.suggest_float(name, values.low, values.high, log=values.log)


def choose_diverse(points: list[tuple[Any, float, float]], base_ndcg: float, max_loss: float = MAX_NDCG_LOSS):
    """From (config, ndcg, diversity) points, the most diverse one within the allowed NDCG loss
    relative to ``base_ndcg`` (ALS's); ties go to the earlier point (smaller lambda)."""
    allowed = [p for p in points if p[1] >= (1.0 - max_loss) * base_ndcg]
    best = max(allowed, key=lambda p: p[2])  # max() keeps the first of equal values
    return best[0]
