import json

import pytest

from recommender.warehouse.ingest import IngestError, ingest
from tests.movielens_fixtures import MOVIES_HEADER, RATINGS_HEADER, make_movielens, write_csv


def _count(con, table):
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def test_tricky_titles_and_genres_survive(memory_warehouse, sql, tmp_path):
    folder = make_movielens(tmp_path / "ml", newline="\r\n")  # CRLF, as some MovieLens mirrors ship
    ingest(memory_warehouse, sql, folder)
    rows = dict(memory_warehouse.execute("select movie_id, title from raw_movies").fetchall())
    assert rows[2] == "American President, The (1995)"
    assert rows[3] == 'Dr. Strangelove or: How I Learned to Stop Worrying and Love the "Bomb" (1964)'
    assert rows[4].startswith("Amélie")
    catalog = {
        m: (t, y, g)
        for m, t, y, g in memory_warehouse.execute("select movie_id, title, year, genres from catalog").fetchall()
    }
    assert catalog[2] == ("The American President", 1995, ["Comedy", "Drama", "Romance"])
    assert catalog[5][2] == []  # '(no genres listed)' is an empty list, not a genre
    assert memory_warehouse.execute("select tag from raw_tags").fetchall()[0][0] == "funny, smart"
    assert memory_warehouse.execute("select imdb_id from raw_links where movie_id = 1").fetchall()[0][0] == "0000001"


def test_ingest_log_and_idempotent_reingest(memory_warehouse, sql, small_folder):
    first = ingest(memory_warehouse, sql, small_folder)
    assert not first.unchanged
    log = memory_warehouse.execute("select file, rows, bytes, length(content_hash) from ingest_log order by file").fetchall()
    assert [r[0] for r in log] == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]
    assert all(r[3] == 64 for r in log)
    before = memory_warehouse.execute("select * from raw_ratings order by all").fetchall()
    again = ingest(memory_warehouse, sql, small_folder)
    assert again.unchanged
    assert memory_warehouse.execute("select * from raw_ratings order by all").fetchall() == before
    forced = ingest(memory_warehouse, sql, small_folder, force=True)
    assert not forced.unchanged
    assert memory_warehouse.execute("select * from raw_ratings order by all").fetchall() == before


BAD_RATINGS = [
    ("1,x,4.0,964981247", 3, r"ratings.csv line 3: .*movieId.*\"x\""),
    ("1,3,4.0", 3, r"ratings.csv line 3: Expected Number of Columns: 4 Found: 3"),
    ("1,3,7.5,964981247", 3, r"ratings.csv line 3: rating 7.5 is outside 0.5..5.0"),
    ("1,3,0.0,964981247", 3, r"ratings.csv line 3: rating 0.0 is outside 0.5..5.0"),
    (",3,4.0,964981247", 3, r"ratings.csv line 3: userId is empty"),
    ("1,3,4.3,964981247", 3, r"ratings.csv line 3: rating 4.3 is not a half star"),
    ("-1,3,4.0,964981247", 3, r"ratings.csv line 3: userId -1 is not a positive id"),
    ("1,-3,4.0,964981247", 3, r"ratings.csv line 3: movieId -3 is not a positive id"),
    ("1,99,4.0,964981247", 3, r"ratings.csv line 3: movieId 99 is not in movies.csv"),
]


@pytest.mark.parametrize("bad_line,line,pattern", BAD_RATINGS)
def test_bad_rating_rows_are_refused_with_file_and_line(memory_warehouse, sql, tmp_path, small_folder, bad_line, line, pattern):
    ingest(memory_warehouse, sql, small_folder)
    before = _count(memory_warehouse, "raw_ratings"), _count(memory_warehouse, "ingest_log")
    folder = make_movielens(tmp_path / "bad")
    write_csv(folder / "ratings.csv", RATINGS_HEADER, ["1,1,4.0,964982703", bad_line, "2,2,3.0,964982704"])
    with pytest.raises(IngestError, match=pattern) as info:
        ingest(memory_warehouse, sql, folder)
    assert info.value.line == line
    # the previous warehouse contents are untouched
    assert (_count(memory_warehouse, "raw_ratings"), _count(memory_warehouse, "ingest_log")) == before


def test_missing_file_wrong_header_and_empty_file(memory_warehouse, sql, tmp_path, small_folder):
    ingest(memory_warehouse, sql, small_folder)
    before = _count(memory_warehouse, "raw_movies")
    folder = make_movielens(tmp_path / "nomovies")
    (folder / "movies.csv").unlink()
    with pytest.raises(IngestError, match="movies.csv: is missing from"):
        ingest(memory_warehouse, sql, folder)
    folder = make_movielens(tmp_path / "header")
    write_csv(folder / "movies.csv", "id,title,genres", ["1,A (1999),Drama"])
    with pytest.raises(IngestError, match="movies.csv line 1: wrong header 'id,title,genres'"):
        ingest(memory_warehouse, sql, folder)
    folder = make_movielens(tmp_path / "empty")
    write_csv(folder / "movies.csv", MOVIES_HEADER, [])
    folder.joinpath("movies.csv").write_text(MOVIES_HEADER + "\n")
    with pytest.raises(IngestError, match="movies.csv: has a header but no rows"):
        ingest(memory_warehouse, sql, folder)
    with pytest.raises(IngestError, match="is not a folder"):
        ingest(memory_warehouse, sql, tmp_path / "nope")
    assert _count(memory_warehouse, "raw_movies") == before


def test_bad_movie_row_in_a_later_file_rolls_back_earlier_files(memory_warehouse, sql, tmp_path, small_folder):
    ingest(memory_warehouse, sql, small_folder)
    before = memory_warehouse.execute("select * from raw_ratings order by all").fetchall()
    folder = make_movielens(tmp_path / "late", ratings=[(1, 1, 4.0, 1)])
    write_csv(folder / "movies.csv", MOVIES_HEADER, ["1,Fine (1999),Drama", "2,,Drama"])
    with pytest.raises(IngestError, match="movies.csv line 3: title is empty"):
        ingest(memory_warehouse, sql, folder)
    assert memory_warehouse.execute("select * from raw_ratings order by all").fetchall() == before


def test_optional_files_may_be_absent(memory_warehouse, sql, tmp_path):
    folder = make_movielens(tmp_path / "minimal", tags=False, links=False)
    result = ingest(memory_warehouse, sql, folder)
    assert {f.source.name for f in result.files} == {"ratings", "movies"}
    assert _count(memory_warehouse, "raw_tags") == 0
    assert memory_warehouse.execute("select count(*) from catalog where imdb_id is null").fetchall()[0][0] == 6


def test_interactions_keep_the_latest_rating_of_a_repeated_pair(memory_warehouse, sql, tmp_path):
    ratings = [
        (1, 1, 5.0, 100), (1, 1, 2.0, 200),   # liked, then disliked: not a positive
        (1, 2, 2.0, 100), (1, 2, 4.5, 300),   # disliked, then liked: positive at t=300
        (1, 3, 4.0, 100), (1, 3, 5.0, 100),   # same time: the higher rating wins
        (2, 1, 4.0, 50),                      # rated once
    ]
    folder = make_movielens(tmp_path / "dups", ratings=ratings)
    ingest(memory_warehouse, sql, folder)
    memory_warehouse.execute("insert into settings (rating_threshold, recent_days) values (4.0, 365)")
    rows = memory_warehouse.execute("select user_id, movie_id, ts, rating from interactions order by all").fetchall()
    assert rows == [(1, 2, 300, 4.5), (1, 3, 100, 5.0), (2, 1, 50, 4.0)]


def test_a_movie_listed_twice_is_refused_with_both_lines(memory_warehouse, sql, tmp_path):
    folder = make_movielens(tmp_path / "dup")
    write_csv(folder / "movies.csv", MOVIES_HEADER, ["1,Toy Story (1995),Comedy", "2,Heat (1995),Action",
                                                     "1,Not Toy Story (2001),Drama"])  # fmt: skip
    write_csv(folder / "ratings.csv", RATINGS_HEADER, ["1,1,4.0,964982703", "2,2,3.0,964982704"])
    with pytest.raises(IngestError, match=r"movies.csv line 4: movieId 1 is listed twice \(first on line 2\)"):
        ingest(memory_warehouse, sql, folder)
    assert _count(memory_warehouse, "raw_movies") == 0


def test_a_file_without_a_final_line_break_is_loaded_and_reported(memory_warehouse, sql, tmp_path):
    folder = make_movielens(tmp_path / "cut")
    text = (folder / "ratings.csv").read_text()
    (folder / "ratings.csv").write_text(text.rstrip("\n")[:-3])  # the last timestamp cut short
    messages = []
    ingest(memory_warehouse, sql, folder, say=messages.append)
    assert any("ratings.csv does not end with a line break" in m for m in messages)
    warnings = dict(memory_warehouse.execute("select file, warnings::varchar from ingest_log").fetchall())
    assert json.loads(warnings["ratings.csv"]) == {"no_final_newline": 1} and json.loads(warnings["movies.csv"]) == {}
