"""Request and response types. Responses are frozen; requests refuse unknown fields; value
limits live in the types, so bad input becomes a 400 without hand-written checks."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from recommender.names import SERVED_MODELS
from recommender.version.answer import MAX_DEPTH as MAX_DEPTH  # how deep a request may page: offset + k
from recommender.version.answer import Tier

ModelName = Literal[SERVED_MODELS]  # type: ignore[valid-type]  # the one list of names
MAX_ID = 2**31 - 1
#: What parse_id reads as a number before checking the range: ASCII digits, no sign, no
#: leading zero (so '+42', '042', ' 42' and other scripts' digits are never user 42).
#: As in JSON Schema, a zero fraction leaves an integer ("2.0" is 2: schema-driven clients write it so).
DECIMAL = re.compile(r"(0|[1-9][0-9]*)(\.0+)?\Z")
#: Largest feedback seq a request may name (exact in JSON's doubles, so the schema is exact).
MAX_SEQ = 2**53 - 1
#: Longest page a request may ask for (lists past the precomputed length are computed then).
MAX_K = 100
#: Most picks a session request may send.
MAX_PICKS = 500
#: The genres of the MovieLens files (ml-25m's names; ml-100k's are mapped to them at ingest).
Genre = Literal[
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    "(no genres listed)",
]  # fmt: skip


class Reason(msgspec.Struct, frozen=True):
    movie_id: int
    title: str


class RecItem(msgspec.Struct, frozen=True):
    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    score: float | None
    reason: Annotated[
        Reason | None,
        msgspec.Meta(
            description="Because you liked ...: the history movie most strongly linked to this one (co-occurrence "
            "in the ratings, a shared genre preferred); null when nothing the user liked is linked to it, and "
            "for popular lists"
        ),
    ]
    #: The ranker only: the feature that raised this movie most (e.g. ``als_score``, ``genre_affinity``).
    ranked_by: str | None = None


class Recommendations(msgspec.Struct, frozen=True):
    user_id: int
    model: ModelName
    k: int
    tier: Tier
    model_version: int
    items: list[RecItem]
    offset: int = 0


class SessionIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An anonymous visitor's picks; nothing is stored."""

    #: Movie ids; any id the version's catalogue lacks gets a 404 naming it.
    liked: Annotated[list[int], msgspec.Meta(min_length=1, max_length=MAX_PICKS)]
    disliked: Annotated[list[int], msgspec.Meta(max_length=MAX_PICKS)] = []
    k: Annotated[int, msgspec.Meta(ge=1, le=MAX_K)] = 10
    #: None: the version's default model, the winner on validation (`GET /health` names it).
    model: ModelName | None = None


class SessionRecommendations(msgspec.Struct, frozen=True):
    model: ModelName
    k: int
    #: fold-in: scored from the picks; popular: none of the picks is known to the model.
    tier: Tier
    model_version: int
    items: list[RecItem]


class ListStats(msgspec.Struct, frozen=True):
    intra_list_diversity: float | None
    #: Mean number of users who liked each listed movie.
    mean_popularity: float | None
    #: Mean self-information of the listed movies, -log2(share of users who liked it), in bits:
    #: higher is less popular.
    novelty: float | None


class Overlap(msgspec.Struct, frozen=True):
    count: int
    jaccard: float
    movie_ids: list[int]


class Comparison(msgspec.Struct, frozen=True):
    user_id: int
    k: int
    model_version: int
    accuracy: Recommendations
    discovery: Recommendations
    overlap: Overlap
    accuracy_stats: ListStats
    discovery_stats: ListStats


class Movie(msgspec.Struct, frozen=True):
    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    popularity: int


class SimilarItem(msgspec.Struct, frozen=True):
    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    score: float


class Similar(msgspec.Struct, frozen=True):
    movie_id: int
    title: str
    model_version: int
    items: list[SimilarItem]


class RatingIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    movie_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
    rating: Annotated[float, msgspec.Meta(ge=0.5, le=5.0, multiple_of=0.5)]


class RatingStored(msgspec.Struct, frozen=True):
    user_id: int
    movie_id: int
    rating: float
    #: The rating's number in the server's feedback store (what `recsys ingest-feedback` copies up to).
    seq: int
    #: Ratings this server holds for the user, this one included; the user's next lists leave
    #: out every movie they rated.
    ratings_stored: int


class FeedbackRating(msgspec.Struct, frozen=True):
    seq: int
    user_id: int
    movie_id: int
    rating: float
    ts: int


class FeedbackPage(msgspec.Struct, frozen=True):
    """Ratings stored after ``after``, oldest first; ask again with ``after = next_after``
    until ``ratings`` is empty."""

    store_id: str
    after: int
    next_after: int
    ratings: list[FeedbackRating]


class Index(msgspec.Struct, frozen=True):
    """``GET /``: what this server is, and where to go next."""

    name: str
    version: str
    links: dict[str, str]


class Health(msgspec.Struct, frozen=True):
    status: Literal["ok", "not_ready"]
    live: bool
    ready: bool
    reason: str | None
    model_version: int | None
    serving_files_reachable: bool
    tables: dict[str, int]
    #: The process that answered: one of the workers behind the port with `recsys serve --workers N`.
    pid: int
    #: Where posted ratings go: "duckdb" (this server's own file) or "postgresql" (shared).
    feedback_store: Literal["duckdb", "postgresql"]
    #: The model a request that names none gets (the winner on val); null when not ready.
    default_model: str | None = None


class Reloaded(msgspec.Struct, frozen=True):
    previous_version: int | None
    active_version: int
    changed: bool


class UserSample(msgspec.Struct, frozen=True):
    model_version: int
    user_ids: list[int]
    cold_start_example: int
