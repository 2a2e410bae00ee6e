"""Which model answers when a request names none: the winner on validation.

- The best single model is the one with the highest val NDCG@10 among those chosen for
  accuracy (the diverse re-ranker trades accuracy for diversity by design and is not a
  candidate), each by the score its own tuning chose it with.
- The two-stage ranker replaces it only if it beats its own sources on val: its out-of-fold
  NDCG@10 (cross-validation over the val users it learns from) against the best source's on
  the same users, averaged over every fold the current split build holds (`recsys run --folds N`).
- A visitor (picks, or ratings posted to a version that does not know the user) who asks for
  the ranker gets it only if it also beats its best source on those users seen as visitors
  (their feature-store columns made from their positives alone); otherwise the best single
  model answers them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np

from recommender.config import Settings
from recommender.sqlfiles import SqlLibrary

#: Models a request may be served by default (the diverse re-ranker is asked for by name).
ACCURACY_MODELS = ("popular", "itemknn", "als", "ease", "hybrid")
#: Without any tuned model, the API's long-standing default.
FALLBACK = "als"


@dataclass(frozen=True)
class DefaultChoice:
    #: The model of a request that names none, and why (one sentence).
    model: str
    reason: str
    #: The model that answers a visitor's request for the ranker: "ranker" or the best single model.
    visitors: str


def choose_default(
    con: duckdb.DuckDBPyConnection,
    sql: SqlLibrary,
    settings: Settings,
    *,
    ranker_served: bool = True,
    first_fold_only: bool = False,
) -> DefaultChoice:
    """The model served by default for ``settings``' split, and why (one sentence);
    ``ranker_served``: whether the version being published serves the ranker at all;
    ``first_fold_only``: judge the ranker on the split itself, not every fold built."""
    scores = dict(sql.run(con, "warehouse/runs/val_scores.sql", {"strategy": settings.base_strategy}).fetchall())
    tuned = {m: v for m, v in scores.items() if m in ACCURACY_MODELS and v is not None}
    if not tuned:
        return DefaultChoice(FALLBACK, "no model has been tuned on val yet", FALLBACK)
    best = max(sorted(tuned), key=lambda m: tuned[m])  # ties: the first by name
    single = f"{best} has the best val NDCG@10 of the single models ({tuned[best]:.4f})"
    margins, visitor_margins = [], []
    checks = sql.run(con, "warehouse/runs/ranker_val_checks.sql", {"strategy": settings.base_strategy}).fetchall()
    for strategy, params in checks:
        if first_fold_only and strategy != settings.base_strategy:
            continue
        checked = json.loads(params)
        if "val_cv_ranker" in checked and checked.get("val_cv_sources"):
            best_source = max(checked["val_cv_sources"].values())
            margins.append(checked["val_cv_ranker"] - best_source)
            visitor_margins.append(checked.get("val_cv_visitors", -np.inf) - best_source)
    if not margins or not ranker_served:
        return DefaultChoice(best, single, best)
    mean = sum(margins) / len(margins)
    visitors = "ranker" if sum(visitor_margins) / len(visitor_margins) > 0 else best
    folds = f"{len(margins)} fold{'s' if len(margins) > 1 else ''}"
    if mean > 0:
        reason = f"the ranker beats its best source on val users (out of fold) by {mean:+.4f} NDCG@10 ({folds})"
        return DefaultChoice("ranker", reason, visitors)
    return DefaultChoice(
        best,
        f"{single}; the ranker trails its best source on val users (out of fold) by {mean:+.4f} NDCG@10 ({folds})",
        visitors,
    )
