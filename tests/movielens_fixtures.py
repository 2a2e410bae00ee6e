"""Builders of small MovieLens-layout folders for tests (no real data needed)."""

from __future__ import annotations

from pathlib import Path

RATINGS_HEADER = "userId,movieId,rating,timestamp"
MOVIES_HEADER = "movieId,title,genres"

#: Titles that exercise the CSV reader: commas, doubled quotes, UTF-8, no genres.
TRICKY_MOVIES = [
    (1, "Toy Story (1995)", "Adventure|Animation|Children|Comedy|Fantasy"),
    (2, '"American President, The (1995)"', "Comedy|Drama|Romance"),
    (3, '"Dr. Strangelove or: How I Learned to Stop Worrying and Love the ""Bomb"" (1964)"', "Comedy|War"),
    (4, '"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)"', "Comedy|Romance"),
    (5, "Unknown Film (2015)", "(no genres listed)"),
    (6, "Heat (1995)", "Action|Crime|Thriller"),
]


def write_csv(path: Path, header: str, lines: list[str], newline: str = "\n") -> Path:
    path.write_bytes((newline.join([header, *lines]) + newline).encode("utf-8"))
    return path


def make_movielens(
    folder: Path,
    ratings: list[tuple[int, int, float, int]] | None = None,
    movies: list[tuple[int, str, str]] | None = None,
    *,
    newline: str = "\n",
    tags: bool = True,
    links: bool = True,
) -> Path:
    """Write ratings.csv/movies.csv (and tags/links) into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    movies = movies if movies is not None else TRICKY_MOVIES
    if ratings is None:
        ratings = [
            (u, m, 5.0 if (u + m) % 3 else 3.0, 1_000_000_000 + 1000 * u + 10 * m)
            for u in range(1, 9)
            for m in range(1, len(movies) + 1)
            if (u * m) % 4 != 1
        ]
    write_csv(folder / "ratings.csv", RATINGS_HEADER, [f"{u},{m},{r:.1f},{t}" for u, m, r, t in ratings], newline)
    write_csv(folder / "movies.csv", MOVIES_HEADER, [f"{m},{t},{g}" for m, t, g in movies], newline)
    if tags:
        write_csv(folder / "tags.csv", "userId,movieId,tag,timestamp", ['1,1,"funny, smart",1000000001'], newline)
    if links:
        write_csv(
            folder / "links.csv",
            "movieId,imdbId,tmdbId",
            [f"{m},{m:07d},{m * 10}" for m, _, _ in movies[:-1]] + [f"{movies[-1][0]},0000000,"],
            newline,
        )
    return folder


def random_movielens(folder: Path, users: int = 80, movies: int = 40, seed: int = 0) -> Path:
    """A larger random MovieLens folder with two taste groups (enough for every model)."""
    import random

    rng = random.Random(seed)
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    movie_rows = [
        (m, f"Film {m} ({1980 + m % 40})", "|".join(rng.sample(genres, rng.randint(1, 2))))
        for m in range(1, movies + 1)
    ]
    ratings = []
    for u in range(1, users + 1):
        liked = range(1, movies // 2 + 1) if u % 2 else range(movies // 2 + 1, movies + 1)
        for m in rng.sample(range(1, movies + 1), k=movies // 2):
            rating = rng.choice([4.0, 4.5, 5.0]) if m in liked else rng.choice([1.0, 2.0, 3.0, 4.0])
            ratings.append((u, m, rating, 1_000_000_000 + rng.randint(0, 10_000_000)))
    return make_movielens(folder, ratings=ratings, movies=movie_rows)
