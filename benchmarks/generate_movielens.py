"""Generate a MovieLens-25M-shaped data set (same files and columns as ml-25m).

Shape targets, taken from the published ml-25m statistics:
- 162,541 users, each with >= 20 ratings and a long-tailed count (median ~70);
- ~25M ratings over ~59k rated movies (62,423 in movies.csv), long-tailed popularity;
- the real rating histogram (0.5 .. 5.0 stars);
- each user's ratings fall inside a personal time span between 1995 and 2019.

Taste structure (so that collaborative models have something to learn): movies belong
to one of ``N_TASTES`` clusters and each user draws half of their movies from a
favourite cluster. Everything is vectorised NumPy, seeded.

    python benchmarks/generate_movielens.py --out data/synthetic/ml-25m-synth
    python benchmarks/generate_movielens.py --out /tmp/ml-1m-synth --users 6040 --ratings 1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

N_USERS = 162_541
N_RATINGS = 25_000_095
N_MOVIES = 62_423
N_RATED_MOVIES = 59_047
N_TASTES = 24

# ml-25m rating histogram (share of ratings per star value).
STARS = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0], dtype=np.float32)
STAR_SHARE = np.array([1.57, 3.11, 1.60, 6.56, 5.05, 19.59, 12.71, 26.56, 8.80, 14.45])
STAR_SHARE = STAR_SHARE / STAR_SHARE.sum()

GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]

T_START = 789_652_009  # 1995-01-09, the first ml-25m rating
T_END = 1_574_327_703  # 2019-11-21, the last


def user_counts(rng: np.random.Generator, n_users: int, n_ratings: int, max_count: int) -> np.ndarray:
    """Per-user rating counts: 20 + lognormal tail, scaled so the total is ~n_ratings."""
    raw = rng.lognormal(mean=np.log(50.0), sigma=1.25, size=n_users)
    extra_total = max(n_ratings - 20 * n_users, 0)
    extra = raw / raw.sum() * extra_total
    counts = 20 + np.floor(extra).astype(np.int64)
    return np.minimum(counts, max_count)


def generate(out: Path, n_users: int, n_ratings: int, n_movies: int, seed: int) -> dict:
    """Write the CSVs; returns counts. Repeated (user, movie) draws are dropped, so the
    draw count is first calibrated on a 5% sample of users to land near ``n_ratings``."""
    sample = max(n_users // 20, 50)
    kept = _draw(np.random.default_rng(seed), sample, int(n_ratings * sample / n_users), n_movies)[0]
    keep_rate = len(kept) / max(int(n_ratings * sample / n_users), 1)
    return _write(out, n_users, int(n_ratings / keep_rate), n_movies, seed)


def _draw(rng: np.random.Generator, n_users: int, n_ratings: int, n_movies: int):
    """(user, movie) pairs, unique, in user order."""
    n_rated = min(n_movies, max(int(n_movies * N_RATED_MOVIES / N_MOVIES), 1))

    # Long-tailed popularity over the rated movies (rank r gets weight ~ (r + 30)^-1.05),
    # then shuffled so movie ids do not encode popularity.
    ranks = np.arange(n_rated)
    weights = (ranks + 30.0) ** -1.05
    movie_of_rank = rng.permutation(n_movies)[:n_rated] + 1
    taste_of_rank = rng.integers(0, N_TASTES, n_rated)

    counts = user_counts(rng, n_users, n_ratings, max_count=n_rated // 2)
    user_of_row = np.repeat(np.arange(1, n_users + 1, dtype=np.int32), counts)
    n_rows = len(user_of_row)

    # Half of each user's draws come from their favourite taste cluster.
    global_cdf = np.cumsum(weights) / weights.sum()
    favourite = rng.integers(0, N_TASTES, n_users + 1)
    from_taste = rng.random(n_rows) < 0.5
    rank_of_row = np.searchsorted(global_cdf, rng.random(n_rows))
    taste_rows = np.flatnonzero(from_taste)
    user_taste = favourite[user_of_row[taste_rows]]
    for taste in range(N_TASTES):
        in_taste = np.flatnonzero(taste_of_rank == taste)
        cdf = np.cumsum(weights[in_taste]) / weights[in_taste].sum()
        rows = taste_rows[user_taste == taste]
        rank_of_row[rows] = in_taste[np.searchsorted(cdf, rng.random(len(rows)))]
    movie_of_row = movie_of_rank[np.minimum(rank_of_row, n_rated - 1)].astype(np.int32)

    # One rating per (user, movie): drop repeated draws.
    key = user_of_row.astype(np.int64) * (n_movies + 1) + movie_of_row
    _, first = np.unique(key, return_index=True)
    first.sort()
    return user_of_row[first], movie_of_row[first]


def _write(out: Path, n_users: int, n_draws: int, n_movies: int, seed: int) -> dict:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    user_of_row, movie_of_row = _draw(rng, n_users, n_draws, n_movies)
    n_rows = len(user_of_row)

    rating = rng.choice(STARS, size=n_rows, p=STAR_SHARE)
    # Personal time spans: a start year, then a lognormal span (days to years).
    span = np.minimum(rng.lognormal(np.log(86_400 * 30), 2.0, n_users + 1), T_END - T_START)
    start = T_START + rng.random(n_users + 1) * (T_END - T_START - span)
    ts = (start[user_of_row] + rng.random(n_rows) * span[user_of_row]).astype(np.int64)

    out.mkdir(parents=True, exist_ok=True)
    ratings = pa.table({"userId": user_of_row, "movieId": movie_of_row, "rating": rating, "timestamp": ts})
    _write_csv(ratings, out / "ratings.csv")

    movie_ids = np.arange(1, n_movies + 1)
    years = rng.integers(1920, 2020, n_movies)
    n_genres = rng.integers(1, 4, n_movies)
    genre_idx = rng.integers(0, len(GENRES), (n_movies, 3))
    genres = [
        "|".join(sorted({GENRES[g] for g in genre_idx[i, : n_genres[i]]})) if i % 97 else "(no genres listed)"
        for i in range(n_movies)
    ]
    titles = [f"Movie {m}, The ({y})" if m % 7 == 0 else f"Movie {m} ({y})" for m, y in zip(movie_ids, years)]
    _write_csv(pa.table({"movieId": movie_ids, "title": titles, "genres": genres}), out / "movies.csv")
    links = pa.table({"movieId": movie_ids, "imdbId": [f"{m:07d}" for m in movie_ids], "tmdbId": movie_ids * 3})
    _write_csv(links, out / "links.csv")
    return {
        "users": int(n_users),
        "ratings": int(n_rows),
        "movies": int(n_movies),
        "rated_movies": int(len(np.unique(movie_of_row))),
        "seconds": round(time.perf_counter() - started, 1),
        "ratings_csv_mb": round((out / "ratings.csv").stat().st_size / 1e6, 1),
    }


def _write_csv(table: pa.Table, path: Path) -> None:
    """CSV as GroupLens writes it: plain header, quotes only where a field needs them."""
    con = duckdb.connect()
    con.register("rows", table)
    con.execute(f"copy (select * from rows) to '{path}' (header, delimiter ',', quote '\"')")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/synthetic/ml-25m-synth"))
    parser.add_argument("--users", type=int, default=N_USERS)
    parser.add_argument("--ratings", type=int, default=N_RATINGS)
    parser.add_argument("--movies", type=int, default=N_MOVIES)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    stats = generate(args.out, args.users, args.ratings, args.movies, args.seed)
    print(stats)


if __name__ == "__main__":
    main()
