"""`recsys simulate`: an online evaluation by replaying the rating log in time order.

At each step's cut-off t the models are fitted on every positive before t and recommend k
movies to every user with a positive in the next window [t, t + step); what those users then
liked is what counts. Users unknown at t (or with nothing liked before it) are answered by
the popular fallback, as the API answers them; the share of such answers is recorded. Movies
first liked inside the window cannot be recommended by anyone and are left out of the truth,
as the offline splits leave out movies unseen in train. Each (step, model) is one row of
``simulation_steps``; the report plots them over time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from recommender.config import Settings
from recommender.errors import InvalidInput
from recommender.jobs.pipeline import Workbench
from recommender.sqlfiles import SqlLibrary
from recommender.warehouse.connection import transaction
from recommender.warehouse.export import SplitData

#: The cut-off the simulation scores at (its lists are this long).
SIMULATION_K = 10


@dataclass(frozen=True)
class StepRow:
    step: int
    cutoff: datetime
    window_end: datetime
    model: str
    users: int
    fallback_users: int
    train_positives: int
    ndcg: float
    recall: float
    hit_rate: float
    hits: int
    coverage: float
    fit_s: float
    score_s: float


def parse_step(text: str) -> timedelta:
    """'30d', '2w' or a bare number of days."""
    text = text.strip().lower()
    unit = {"d": 1, "w": 7}.get(text[-1:], None)
    number = text[:-1] if unit else text
    try:
        days = float(number) * (unit or 1)
    except ValueError:
        raise InvalidInput(f"--step takes days such as 30d or 2w, got {text!r}") from None
    if days <= 0:
        raise InvalidInput(f"--step must be positive, got {text!r}")
    return timedelta(days=days)


def simulate(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    start: datetime,
    step: timedelta,
    steps: int,
    models: list[str],
    say: Callable[[str], None] = lambda m: None,
) -> str:
    """Run the replay; returns its simulation id (its rows are in ``simulation_steps``)."""
    events = sql.arrow(con, "warehouse/splits/export_all.sql", {"threshold": settings.rating_threshold})
    users = events.column("user_id").to_numpy()
    movies = events.column("movie_id").to_numpy()
    ts = events.column("ts").to_numpy()
    positive = events.column("positive").to_numpy(zero_copy_only=False)
    simulation_id = uuid.uuid4().hex[:12]
    rows: list[dict] = []  # written when the simulation ends, in one transaction
    for i in range(steps):
        cutoff = start + i * step
        end = cutoff + step
        data = step_data(users, movies, ts, positive, cutoff.timestamp(), end.timestamp())
        if data is None:
            say(f"  step {i + 1}: nothing liked before {cutoff:%Y-%m-%d} or in the window after it: skipped")
            continue
        wb = Workbench(con, sql, settings, data=data)
        for model in models:
            row = _score(wb, data, i + 1, cutoff, end, model)
            params = json.dumps(wb.params_for(model), sort_keys=True)
            rows.append(
                {"simulation_id": simulation_id, **row.__dict__, "params": params, "settings": settings.as_json()}
            )
            say(
                f"  step {row.step} {cutoff:%Y-%m-%d}..{end:%Y-%m-%d} {model:8s} users={row.users} "
                f"fallback={row.fallback_users} ndcg@{SIMULATION_K}={row.ndcg:.4f} hits={row.hits} "
                f"fit={row.fit_s:.1f}s score={row.score_s:.1f}s"
            )
    with transaction(con):  # a killed simulation leaves no rows: the report never shows a partial one
        for values in rows:
            sql.run(con, "warehouse/simulation/insert_step.sql", values)
        sql.run(
            con,
            "warehouse/simulation/insert_run.sql",
            {"simulation_id": simulation_id, "steps": steps, "models": models},
        )
    return simulation_id


def step_data(users, movies, ts, positive, cutoff: float, end: float) -> SplitData | None:
    """The step as a split: ``train`` = positives before the cut-off, ``val`` = the window's
    positives of movies liked before it, negatives = the other ratings before it. Users: all
    with a positive before the cut-off or in the window (the new ones with an empty history)."""
    before, window = ts < cutoff, (ts >= cutoff) & (ts < end)
    train_mask, window_mask = before & positive, window & positive
    if not train_mask.any():
        return None
    item_ids = np.unique(movies[train_mask])
    in_items = np.isin(movies, item_ids)
    window_mask &= in_items
    if not window_mask.any():
        return None
    user_ids = np.unique(np.concatenate([users[train_mask], users[window_mask]]))

    def part(mask: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "user_idx": np.searchsorted(user_ids, users[mask]).astype(np.int32),
                "item_idx": np.searchsorted(item_ids, movies[mask]).astype(np.int32),
                "user_id": users[mask],
                "movie_id": movies[mask],
                "ts": ts[mask],
            }
        )

    negative_mask = before & ~positive & in_items & np.isin(users, user_ids)
    negatives = (
        part(negative_mask)
        .select(["user_idx", "item_idx"])
        .append_column("part_code", pa.array(np.zeros(int(negative_mask.sum()), np.uint8)))
    )
    train = part(train_mask)
    return SplitData(
        strategy="simulation",
        train=train,
        val=part(window_mask),
        test=train.slice(0, 0),
        user_ids=user_ids.astype(np.int64),
        item_ids=item_ids.astype(np.int64),
        negatives=negatives,
    )


def _score(wb: Workbench, data: SplitData, step: int, cutoff: datetime, end: datetime, model: str) -> StepRow:
    k = SIMULATION_K
    fitted, fit_s = wb.fit(model, wb.params_for(model), ("train",))
    started = time.perf_counter()
    evaluation = wb.evaluate_on(fitted, data, "val")
    score_s = time.perf_counter() - started
    hits = int((evaluation.per_user[("precision", k)] * k).round().sum())
    fallback = int(evaluation.top.filled[:, :k].all(axis=1).sum())
    return StepRow(
        step,
        cutoff,
        end,
        model,
        evaluation.n_users,
        fallback,
        data.train.num_rows,
        evaluation.value("ndcg", k),
        evaluation.value("recall", k),
        evaluation.value("hit_rate", k),
        hits,
        evaluation.value("coverage", k),
        fit_s,
        score_s,
    )
