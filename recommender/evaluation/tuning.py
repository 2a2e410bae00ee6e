"""Search spaces and the search itself for `recsys tune` (always scored on val).

Three kinds of search, by the shape of the space:

- **Choices only** (popular's windows, ItemKNN's neighbours x scoring rule): every
  configuration is tried (ItemKNN's only those whose similarities fit in memory).
- **One range** (EASE's lambda): a log-spaced grid over the range, then the two geometric
  midpoints either side of the best grid point: a fixed, data-independent cost that cannot
  miss the region the way a few random draws can.
- **Several ranges** (ALS): a designed start-up, then Optuna's TPE sampler (seeded). The
  start-up is a Taguchi L9 array over three log-spaced levels per parameter (the range's ends
  and middle): nine trials in which every level of each parameter appears three times and
  every pair of levels of two parameters once, so the corners of the space are sampled
  before TPE models where the scores are. ALS is fitted in steps of iterations, scored on val
  after each step, and stopped when val stops improving (its ``iterations`` is the best
  step); after the start-up, a trial whose steps trail the median of the earlier trials at
  the same step is pruned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.config import Settings
from recommender.models import MODELS
from recommender.models.base import Range, SearchSpace

#: Each searched model's space (its class's ``search_space``: a list is a set of choices; a
#: Range is sampled, on a log scale if ``log``).
SEARCH_SPACES: dict[str, SearchSpace] = {
    name: cls.search_space for name, cls in MODELS.items() if cls.search_space is not None
}
#: The one choice a search among a grid's configurations makes (their index).
GRID_CHOICE = "configuration"
#: Trials per model unless `--trials` says otherwise (its class's ``trials``): the budget
#: grows with the dimensions searched. A choices-only space is tried in full when it has at
#: most this many configurations.
DEFAULT_TRIALS = {name: MODELS[name].trials for name in SEARCH_SPACES}
#: The budgets when tuning runs on a sample of a larger split (``tune_users``, e.g. 25M),
#: where each trial costs seconds and the main job must stay within its 10 minutes.
SAMPLED_TRIALS = {name: MODELS[name].sampled_trials or MODELS[name].trials for name in SEARCH_SPACES}
#: ItemKNN keeps at most this many similarities unless the settings say otherwise (items x
#: neighbours: 12M is ~150 MB, and its lists and reasons cost in proportion): 1000 per item on
#: ml-latest-small, 200 on a 59k catalogue.
MAX_SIMILARITIES: int = Settings.itemknn_max_similarities
#: ALS is fitted ITERATION_STEP iterations at a time (at most ``Settings.als_max_iterations``).
ITERATION_STEP = 5
#: The L9 orthogonal array: nine rows of three parameters at levels 0, 1, 2 (low, middle, high).
L9 = ((0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 1), (1, 1, 2), (1, 2, 0), (2, 0, 2), (2, 1, 0), (2, 2, 1))
#: One-range searches refine the grid's best point with this many midpoints (one each side).
REFINEMENTS = 2

#: Popularity weights and windows swept for the hybrid (its ALS part is the tuned ALS).
BLEND_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
BLEND_WINDOWS = (None, 365)
#: The discovery model's sweep over the tuned ALS: diversity weights (lambda) x popularity
#: penalties, genre similarity, re-ranking ALS's top DISCOVERY_CANDIDATES.
LAMBDAS = (0.0, 0.2, 0.4, 0.6, 0.8)
POPULARITY_PENALTIES = (0.0, 0.25, 0.5, 0.75, 1.0)
DISCOVERY_SIMILARITY = "genres"
DISCOVERY_CANDIDATES = 200


def full_grid(
    model: str, user_items: sp.csr_matrix | None = None, max_similarities: int = MAX_SIMILARITIES
) -> list[dict[str, Any]] | None:
    """Every configuration of a model whose space is only choices; None for a sampled space.
    ``user_items`` (users x items, the positives the final fit sees) bounds ItemKNN's choices
    to those whose similarities fit within ``max_similarities``."""
    space = SEARCH_SPACES[model]
    if any(isinstance(values, Range) for values in space.values()):
        return None
    choices = {name: values for name, values in space.items() if not isinstance(values, Range)}  # all of them
    grid = [dict(zip(choices, values)) for values in itertools.product(*choices.values())]
    if model == "itemknn" and user_items is not None:
        every = similarity_count(user_items, max_similarities)
        n_items = user_items.shape[1]
        affordable = [g for g in grid if min(every, (g["neighbours"] or n_items) * n_items) <= max_similarities]
        grid = affordable or grid[:1]
    return grid


def similarity_count(user_items: sp.csr_matrix, max_similarities: int = MAX_SIMILARITIES) -> int:
    """How many item pairs co-occur in ``user_items`` (users x items): the similarities
    ItemKNN keeps with ``neighbours=None``. Exact when cheap to count (one sparse product),
    else the upper bound sum over users of (positives)^2."""
    lengths = np.diff(user_items.indptr).astype(np.int64)
    bound = int((lengths**2).sum())
    if bound > 10 * max_similarities:
        return bound
    binary = user_items.astype(bool).astype(np.float32)
    return int((binary.T @ binary).nnz)


class Pruned(Exception):
    """Raised by a trial's step report when the trial trails the others (Optuna prunes it)."""


def search(
    model: str,
    trials: int,
    seed: int,
    objective: Callable[[dict[str, Any], Callable[[float, int], None]], float],
    grid: list[dict[str, Any]] | None = None,
) -> None:
    """Run ``trials`` trials of ``objective(params, report)``, each returning its val score
    (``grid``: search among these configurations only, as one choice);
    ``report(value, step)`` lets a trial report intermediate scores (and raises Pruned when
    it should stop). The objective keeps its own record of the runs."""
    space = SEARCH_SPACES[model]
    if grid is not None:  # a space of choices, some unaffordable: search what full_grid kept
        space = {GRID_CHOICE: list(range(len(grid)))}
    ranges = {name: values for name, values in space.items() if isinstance(values, Range)}
    if len(space) == 1 and len(ranges) == 1:
        _line_search(next(iter(ranges.items())), trials, objective)
        return
    import optuna  # imported on use: it takes a moment

    # errors only: a trial stopped by Ctrl-C is not Optuna's to report (the CLI says "interrupted")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    design = start_up_design(space)[:trials]
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=len(design), multivariate=True),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=len(design), n_warmup_steps=0),
    )
    for params in design:
        study.enqueue_trial(params)

    def run_trial(trial: optuna.Trial) -> float:
        point = {name: _suggest(trial, name, values) for name, values in space.items()}
        params = grid[point[GRID_CHOICE]] if grid is not None else MODELS[model].params_at(point)

        def report(value: float, step: int) -> None:
            trial.report(value, step)
            if trial.should_prune():
                raise Pruned

        try:
            return objective(params, report)
        except Pruned:
            raise optuna.TrialPruned() from None

    study.optimize(run_trial, n_trials=trials)


def levels(values: Range, n: int) -> list[float]:
    """``n`` points spread over a range, ends included (log-spaced if ``values.log``)."""
    points = (
        np.geomspace(values.low, values.high, n) if values.log else np.linspace(values.low, values.high, n)
    ).tolist()
    return [int(round(p)) for p in points] if values.integer else [float(p) for p in points]


def start_up_design(space: SearchSpace) -> list[dict[str, Any]]:
    """The first trials of a several-range search: the L9 array over three levels per
    parameter when the space is three ranges, else none (TPE's own random start-up)."""
    if len(space) != 3 or not all(isinstance(v, Range) for v in space.values()):
        return []
    ranges = {name: values for name, values in space.items() if isinstance(values, Range)}
    names = list(ranges)
    three = {name: levels(ranges[name], 3) for name in names}
    return [{name: three[name][level] for name, level in zip(names, row)} for row in L9]


def _line_search(named: tuple[str, Range], trials: int, objective: Callable[[dict[str, Any], Callable], float]) -> None:
    """A grid of ``trials - REFINEMENTS`` points over the range, then the midpoints between the
    best point and its neighbours (geometric on a log range)."""
    name, values = named
    coarse = levels(values, max(1, trials - REFINEMENTS))
    scores = [objective({name: x}, _no_report) for x in coarse]
    best = int(np.argmax(scores))
    neighbours = [coarse[i] for i in (best - 1, best + 1) if 0 <= i < len(coarse)]
    for other in neighbours[: max(0, trials - len(coarse))]:
        middle = float(np.sqrt(coarse[best] * other)) if values.log else (coarse[best] + other) / 2
        objective({name: int(round(middle)) if values.integer else middle}, _no_report)


def _no_report(value: float, step: int) -> None:
    """A one-range search has no intermediate scores to prune on."""


def _suggest(trial, name: str, values: list[Any] | Range) -> Any:
    if not isinstance(values, Range):
        return trial.suggest_categorical(name, values)
    if values.integer:
        return trial.suggest_int(name, int(values.low), int(values.high), log=values.log)
    return trial.suggest_float(name, values.low, values.high, log=values.log)


def choose_discovery(
    points: list[tuple[Any, float, float, float]], min_lower: float, max_overlap: float
) -> tuple[Any, bool]:
    """From (config, ndcg, share of users whose list is less popular than ALS's, mean overlap
    with ALS's list) points, the best NDCG among those meeting both targets (ties: the
    earlier point); when none does, the one nearest to them: among those meeting the share
    target if any, the least overlap beyond its target, then the largest share, then the best
    NDCG. Returns (config, whether it meets the targets)."""
    meeting = [p for p in points if p[2] >= min_lower and p[3] <= max_overlap]
    if meeting:
        return max(meeting, key=lambda p: p[1])[0], True
    nearest = max(points, key=lambda p: (p[2] >= min_lower, -max(p[3] - max_overlap, 0.0), p[2], p[1]))
    return nearest[0], False
