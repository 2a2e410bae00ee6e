"""The one interface every model implements, and the shared top-N machinery.

Id space: models only see *indices* (row ``u`` of the user x item CSR matrix,
column ``i``); mapping to MovieLens ids is the caller's job (``SplitData``).
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import scipy.sparse as sp

from recommender.errors import RecsysError
from recommender.sparse import csr_contains, row_lengths

#: Bumped whenever the artifact layout changes; load() refuses other versions.
ARTIFACT_VERSION = 1
#: Users per batch (implicit batches its dense scoring itself; this bounds our arrays).
BATCH_USERS = 8192
#: Rows per group of the second round of candidates (see ``Recommender.recommend``).
SECOND_ROUND_GROUP = 512


class ModelError(RecsysError, ValueError):
    """Bad model name, bad parameters, or an artifact that cannot be loaded."""


@dataclass(frozen=True)
class TopN:
    """Top-N lists for a batch of users, in index space.

    ``items``: (n_users, k) int32, best first, ``-1`` where fewer than k items exist.
    ``scores``: (n_users, k) float32, the model's score per item, NaN where ``items`` is -1.
    """

    items: np.ndarray
    scores: np.ndarray

    @property
    def k(self) -> int:
        return self.items.shape[1]


@dataclass(frozen=True)
class Range:
    """A parameter's searched interval (a list of values in a search space is a set of
    choices): sampled on a log scale if ``log``, rounded if ``integer``."""

    low: float
    high: float
    log: bool = True
    integer: bool = False


#: A model's search space: per parameter, a list of choices or a Range.
SearchSpace = Mapping[str, "list[Any] | Range"]


class FitInputs(Protocol):
    """What a model's fit recipe (``Recommender.fit_from``) may read: one job's training data
    (one split's parts) and what the job shares between fits of it."""

    seed: int
    #: The cores the fit's own threads may use (the job's ``--threads``; 0: every core).
    threads: int

    def matrix(self) -> sp.csr_matrix:
        """(users, items) binary positives."""
        ...

    def times(self) -> sp.csr_matrix:
        """The same structure, holding Unix seconds."""
        ...

    def fitted(self, name: str, params: Mapping[str, Any]) -> Recommender:
        """Another model fitted on the same data (once per job and configuration)."""
        ...

    def extra(self, name: str) -> Any:
        """A job-wide input a model asks for by name: ``"gram"`` (a function of ``max_items``
        giving EASE's item Gram matrix, computed once per job), ``"item_genres"``
        ((items, genres) multi-hot), ``"als_engine"`` (where ALS fits)."""
        ...


@dataclass(frozen=True)
class Params:
    """Base of every model's typed parameters: frozen dataclasses with documented fields."""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Self:
        values = dict(values or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(values) - set(known)
        if unknown:
            raise ModelError(f"{cls.__qualname__}: unknown parameter(s) {sorted(unknown)}; known: {sorted(known)}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{cls.__qualname__}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: ``Params`` where a model class's own ``Params`` attribute would shadow it.
AnyParams = Params


class Recommender(ABC):
    """Fit on a user x item CSR matrix; recommend top-N unseen items for batches of users."""

    name: ClassVar[str]
    Params: ClassVar[type[Params]]
    #: What ``_candidates`` already leaves out: nothing, the user's ``history``, or all of
    #: ``exclude``. For the rest, ``recommend`` asks for more candidates than k (a first
    #: round sized for most users, a second only for the rows left short).
    candidates_filter: ClassVar[str] = "nothing"
    #: Whether a user's list depends on the user (False: the same ranking for everybody, so the
    #: API never calls it personalised).
    personal: ClassVar[bool] = True
    #: What tuning searches on val (``recommender.evaluation.tuning`` says how, by the shape
    #: of the space); None: the defaults are its one trial, or the job sweeps it its own way.
    search_space: ClassVar[SearchSpace | None] = None
    #: Trials of that search unless ``--trials`` says otherwise (a space of choices is tried
    #: in full when it has at most this many configurations) ...
    trials: ClassVar[int] = 1
    #: ... and when tuning runs on a sample of a larger split (None: the same).
    sampled_trials: ClassVar[int | None] = None

    def __init__(self, params: AnyParams | Mapping[str, Any] | None = None, *, seed: int = 42) -> None:
        self.params: AnyParams = params if isinstance(params, AnyParams) else self.Params.from_dict(params)
        self.seed = seed
        self.n_items: int | None = None
        #: Threads of the library underneath (implicit, LightGBM) in fit and batch scoring; 0:
        #: every core. A job sets its ``--threads`` (``fit_from``).
        self.threads = 0

    # -- to implement ------------------------------------------------------------------
    @abstractmethod
    def fit(self, user_items: sp.csr_matrix, *, times: sp.csr_matrix | None = None) -> Recommender:
        """Learn from binary user x item interactions (``times``: same structure, Unix seconds)."""

    @abstractmethod
    def _candidates(
        self, users: np.ndarray, history: sp.csr_matrix, n: int, exclude: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` best (items, scores) per user, best first; ``history`` and ``exclude``
        hold the users' rows (row r is ``users[r]``). May contain excluded items, ``-1`` or
        -inf padding: ``recommend`` cleans them."""

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as plain arrays (what ``save`` writes)."""

    @abstractmethod
    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Inverse of ``_arrays``."""

    @property
    def scores_every_item(self) -> bool:
        """Whether ``score_rows`` gives a score for every item (the re-rankers only re-order
        candidates). Filtered lists at request time rank those scores directly."""
        return False

    def score_rows(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """(len(users), n_items) float32: every item's score for each row (``history`` holds the
        users' rows), -inf where the model gives none."""
        raise ModelError(f"{self.name} ranks candidates; it has no score for every item")

    # -- capabilities with a default ----------------------------------------------------
    @classmethod
    def params_at(cls, point: Mapping[str, Any]) -> dict[str, Any]:
        """The model's parameters at a point of ``search_space`` (whose axes may differ)."""
        return dict(point)

    @classmethod
    def fit_from(cls, params: Mapping[str, Any], inputs: FitInputs) -> Recommender:
        """The model fitted as a job fits it (its fit recipe): by default ``fit`` on the
        positives; models that need more (times, another fitted model, a shared Gram matrix)
        say so here."""
        return cls(params, seed=inputs.seed).using_threads(inputs.threads).fit(inputs.matrix())

    def using_threads(self, threads: int) -> Self:
        """This model with its library's threads set (0: every core); returns self."""
        self.threads = threads
        return self

    def for_user(self, row: int, history: sp.csr_matrix) -> Recommender:
        """This model as it answers one user, row 0 of ``history`` (1 x n_items): the fitted
        user ``row``, or a visitor (``row`` -1) known only by ``history``. The default: the
        model itself, for models that score from the history row alone."""
        return self

    def explain(
        self,
        users: np.ndarray,
        items: np.ndarray,
        history: sp.csr_matrix,
        recent: np.ndarray,
        ranked_by: np.ndarray | None = None,
    ) -> np.ndarray:
        """(len(users), k) int32: for each of ``items`` ((len(users), k) item indices, -1
        padded), the history item that contributed most to it, -1 for none. ``history``: the
        user x item matrix (row ``users[r]`` is the r-th user's); ``recent``: (len(users),
        window) each user's newest history items, -1 padded (``recent_history``);
        ``ranked_by``: ``recommend_explained``'s features of these entries, for a model that
        gives them. The default: no reasons (a model without per-item contributions, such as
        popularity)."""
        return np.full(np.shape(items), -1, dtype=np.int32)

    def recommend_explained(
        self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> tuple[TopN, np.ndarray | None]:
        """``recommend``'s lists and, for a model whose score is a function of named features
        (the two-stage ranker), (len(users), k) the name of the feature that raised each
        entry most ("" where there is no entry); None for the others (the default)."""
        return self.recommend(users, user_items, k, exclude), None

    def similar_items(self, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """((len(items), n) int32, (len(items), n) float32): the ``n`` items most similar to
        each of ``items``, best first, -1 / NaN padded; a model without an item similarity
        refuses."""
        raise ModelError(f"{self.name} has no item similarity")

    def cosine_neighbours(self, n: int, min_cosine: float) -> sp.csr_matrix | None:
        """(n_items, n_items) the cosines between items' sets of positive raters that the model
        stores, when each row holds at least its ``n`` largest (down to ``min_cosine``), row
        ``i`` item ``i``'s; None for a model that stores no such cosines (the default)."""
        return None

    def pool_of(self) -> Recommender | None:
        """The model whose candidate lists this one re-orders (``rerank``), so that a batch
        draws one pool for both; None for a model that ranks on its own."""
        return None

    def pool_size(self, k: int) -> int:
        """How many of ``pool_of``'s candidates ``rerank`` reads for lists of ``k``."""
        return k

    def rerank(self, pool: TopN, k: int) -> TopN:
        """``k`` items per row from ``pool`` (``pool_of``'s lists, best first)."""
        return TopN(pool.items[:, :k], pool.scores[:, :k])

    def share(self, other: Recommender) -> None:
        """Read ``other``'s fitted state wherever it equals a part of this model's (one copy
        in memory); the default shares nothing."""
        return None

    def prepare(self) -> None:
        """Make, once, what every request's answer reads (a served version calls it before
        its first request, so that threads share one copy); the default needs nothing."""
        return None

    # -- shared behaviour --------------------------------------------------------------
    def recommend(
        self, users: np.ndarray, user_items: sp.csr_matrix, k: int, exclude: sp.csr_matrix | None = None
    ) -> TopN:
        """Top-``k`` items per user in ``users`` (row indices), scored from ``user_items``
        (the history the model may use: train, or train+val for test) and leaving out every
        item stored in ``exclude[user]`` (default ``user_items``; a superset of it, e.g. also
        the movies the user rated below the positive threshold)."""
        self._require_fitted()
        if k <= 0:
            raise ModelError(f"k must be positive, got {k}")
        users = np.asarray(users, dtype=np.int64)
        if len(users) and (users.min() < 0 or users.max() >= user_items.shape[0]):
            raise ModelError(f"{self.name}: user index outside 0..{user_items.shape[0] - 1}")
        exclude = user_items if exclude is None else exclude
        items = np.full((len(users), k), -1, dtype=np.int32)
        scores = np.full((len(users), k), np.nan, dtype=np.float32)
        # excluded items the candidates may still hold
        leftover = (
            row_lengths(exclude)
            - {"nothing": 0, "history": row_lengths(user_items), "exclude": row_lengths(exclude)}[
                self.candidates_filter
            ]
        )
        for start in range(0, len(users), BATCH_USERS):
            batch = users[start : start + BATCH_USERS]
            # Candidates that may include excluded items: a modest first round for everyone,
            # then, only for the rows left short, as many as each needs: rows in order of need,
            # in groups, so one heavy rater does not widen everyone's candidate arrays.
            extra = 0 if not leftover[batch].any() else 2 * k + 32
            top_items, top_scores = self._top(batch, user_items, exclude, k, k + extra)
            if extra:
                needed = np.minimum(self._fitted_items(), k + leftover[batch])
                short = np.flatnonzero(((top_items < 0).any(axis=1)) & (needed > k + extra))
                short = short[np.argsort(needed[short], kind="stable")]
                for group in np.array_split(short, max(1, -(-len(short) // SECOND_ROUND_GROUP))):
                    if not len(group):
                        continue
                    top_items[group], top_scores[group] = self._top(
                        batch[group], user_items, exclude, k, needed[group].max()
                    )
            items[start : start + len(batch)] = top_items
            scores[start : start + len(batch)] = top_scores
        return TopN(items, scores)

    def _top(self, batch: np.ndarray, user_items: sp.csr_matrix, exclude: sp.csr_matrix, k: int, n: int):
        # the batch's own rows, sliced once: filtering costs O(batch), not O(all users)
        history = _rows(user_items, batch)
        excluded = history if exclude is user_items else _rows(exclude, batch)
        cand, cand_scores = self._candidates(batch, history, min(self._fitted_items(), int(n)), excluded)
        return _clean_top(cand, cand_scores, excluded, k)

    def save(self, path: Path) -> Path:
        """Write the model as ``.npz`` (plain arrays, no pickle), stamped with versions."""
        self._require_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "artifact_version": ARTIFACT_VERSION,
            "model": self.name,
            "params": self.params.to_dict(),
            "seed": self.seed,
            "n_items": self.n_items,
        }
        with open(path, "wb") as handle:
            arrays = {"__meta__": np.array(json.dumps(meta)), **self._arrays()}
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub matches **arrays against allow_pickle
        return path

    def _require_fitted(self) -> None:
        if self.n_items is None:
            raise ModelError(f"{self.name}: fit() or load() first")

    def _fitted_items(self) -> int:
        """``n_items`` of a fitted model."""
        if self.n_items is None:
            raise ModelError(f"{self.name}: fit() or load() first")
        return self.n_items


def top_similar(items: np.ndarray, scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``similar_items`` from a dense (len(items), n_items) block of similarities: each row's
    ``n`` best, the item itself and -inf left out, ties by item index, -1 / NaN padded."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    scores[np.arange(len(items)), items] = -np.inf
    n = min(n, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    best = np.take_along_axis(scores, order, axis=1)
    found = np.isfinite(best)
    return np.where(found, order, -1).astype(np.int32), np.where(found, best, np.nan).astype(np.float32)


def _rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """``matrix[rows]``; a run of consecutive rows (a batch of users, a request's one row) as
    a slice, several times cheaper than scipy's fancy indexing."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and (len(rows) == 1 or (np.diff(rows) == 1).all()):
        return matrix[int(rows[0]) : int(rows[-1]) + 1]
    return matrix[rows]


def _clean_top(cand, cand_scores, exclude, k):
    """Drop excluded items (row r of ``exclude`` is row r of ``cand``), padding and -inf
    scores; keep order; pad rows to k with -1."""
    cand = np.asarray(cand, dtype=np.int64)
    cand_scores = np.asarray(cand_scores, dtype=np.float32)
    valid = (cand >= 0) & (cand_scores > np.finfo(np.float32).min) & np.isfinite(cand_scores)
    rows = np.arange(len(cand))[:, None]
    valid &= ~csr_contains(exclude, rows, np.where(cand >= 0, cand, 0))
    # implicit pads short lists with item 0: keep only each item's first occurrence
    valid &= first_occurrence(cand)
    return compact(cand, cand_scores, valid, k)


def compact(items: np.ndarray, scores: np.ndarray, valid: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the valid entries of each row in order, first k; pad with -1 / NaN."""
    order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(items))[:, None]
    top_valid = valid[rows, order]
    out_items = np.where(top_valid, items[rows, order], -1).astype(np.int32)
    out_scores = np.where(top_valid, scores[rows, order], np.nan).astype(np.float32)
    if out_items.shape[1] < k:  # fewer candidates than k (tiny catalogs)
        pad = k - out_items.shape[1]
        out_items = np.pad(out_items, ((0, 0), (0, pad)), constant_values=-1)
        out_scores = np.pad(out_scores, ((0, 0), (0, pad)), constant_values=np.nan)
    return out_items, out_scores


def first_occurrence(cand: np.ndarray) -> np.ndarray:
    """True where ``cand[r, j]`` does not occur earlier in row r."""
    order = np.argsort(cand, axis=1, kind="stable")  # equal items keep their left-to-right order
    ordered = np.take_along_axis(cand, order, axis=1)
    repeat = np.zeros(cand.shape, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    first = np.empty(cand.shape, dtype=bool)
    np.put_along_axis(first, order, ~repeat, axis=1)
    return first


def load_arrays(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read an artifact written by ``Recommender.save`` (refusing pickles and other versions)."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a model artifact ({exc})") from exc
    if "__meta__" not in arrays:
        raise ModelError(f"{path}: no metadata; not written by Recommender.save")
    meta = json.loads(str(arrays.pop("__meta__")))
    if meta.get("artifact_version") != ARTIFACT_VERSION:
        raise ModelError(f"{path}: artifact version {meta.get('artifact_version')}, expected {ARTIFACT_VERSION}")
    return meta, arrays
