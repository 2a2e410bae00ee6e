"""The folder layouts the ingest reads: gzip-compressed CSVs, MovieLens 100K, and the ones it refuses."""

import gzip
import shutil

import pytest

from recommender.warehouse.ingest import IngestError, ingest
from tests.movielens_fixtures import make_movielens

# MovieLens 100K's u.item: id|title|release|video release|IMDb URL|19 genre flags (u.genre's order:
# unknown, Action, Adventure, Animation, Children's, Comedy, Crime, Documentary, Drama, Fantasy,
# Film-Noir, Horror, Musical, Mystery, Romance, Sci-Fi, Thriller, War, Western), Latin-1.
U_ITEM = [
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "2|Café au Lait (1994)|01-Jan-1994||http://us.imdb.com/x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "4|Blade Runner (1982)|01-Jan-1982||http://us.imdb.com/y|0|0|0|0|0|0|0|0|0|0|1|0|0|0|0|1|0|0|0",
]
U_DATA = ["196\t1\t3\t881250949", "186\t2\t5\t891717742", "22\t4\t1\t878887116", "196\t4\t4\t881251000"]


def make_ml100k(folder, items=U_ITEM, data=U_DATA):
    folder.mkdir(parents=True)
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (folder / "u.data").write_text("\n".join(data) + "\n")
    (folder / "u.genre").write_text("unknown|0\nAction|1\n")
    return folder


def test_gzip_compressed_csvs_load_like_plain_ones(memory_warehouse, sql, tmp_path):
    plain = make_movielens(tmp_path / "plain")
    packed = tmp_path / "packed"
    packed.mkdir()
    for csv in plain.glob("*.csv"):
        with open(csv, "rb") as src, gzip.open(packed / f"{csv.name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    ingest(memory_warehouse, sql, plain)
    expected = memory_warehouse.execute("select * from raw_ratings order by all").fetchall()
    result = ingest(memory_warehouse, sql, packed)
    assert not result.unchanged
    assert memory_warehouse.execute("select * from raw_ratings order by all").fetchall() == expected
    files = [
        f
        for (f,) in memory_warehouse.execute(
            "select file from ingest_log where ingest_id = ? order by file", [result.ingest_id]
        ).fetchall()
    ]
    assert files == ["links.csv.gz", "movies.csv.gz", "ratings.csv.gz", "tags.csv.gz"]
    assert ingest(memory_warehouse, sql, packed).unchanged


def test_movielens_100k_is_read_into_the_same_tables(memory_warehouse, sql, tmp_path):
    ingest(memory_warehouse, sql, make_movielens(tmp_path / "csv"))  # tags from before must go
    ingest(memory_warehouse, sql, make_ml100k(tmp_path / "ml-100k"))
    movies = dict(
        (m, (t, g)) for m, t, g in memory_warehouse.execute("select movie_id, title, genres from raw_movies").fetchall()
    )
    assert movies[1] == ("Toy Story (1995)", "Animation|Children|Comedy")
    assert movies[2] == ("Café au Lait (1994)", "Comedy")  # Latin-1 decoded
    assert movies[3] == ("unknown", "(no genres listed)")
    assert movies[4] == ("Blade Runner (1982)", "Film-Noir|Sci-Fi")
    ratings = memory_warehouse.execute("select user_id, movie_id, rating, ts from raw_ratings order by ts").fetchall()
    assert ratings[0] == (22, 4, 1.0, 878887116)
    assert len(ratings) == 4
    assert memory_warehouse.execute("select count(*) from raw_tags").fetchall()[0][0] == 0
    catalog = dict(memory_warehouse.execute("select movie_id, genres from catalog").fetchall())
    assert catalog[1] == ["Animation", "Children", "Comedy"]


@pytest.mark.parametrize(
    "items,data,pattern",
    [
        (U_ITEM, U_DATA[:2] + ["22\t4\t7\t878887116"], r"u.data line 3: rating 7.0 is outside"),
        (U_ITEM, U_DATA + ["22\t9\t4\t878887116"], r"u.data line 5: item id 9 is not in u.item"),
        (U_ITEM, ["196,1,3,881250949"], r"u.data line 1: Error when converting .*196,1,3,881250949"),
        (U_ITEM + [U_ITEM[0]], U_DATA, r"u.item line 5: item id 1 is listed twice \(first on line 1\)"),
    ],
)
def test_bad_movielens_100k_rows_are_refused_with_file_and_line(memory_warehouse, sql, tmp_path, items, data, pattern):
    with pytest.raises(IngestError, match=pattern):
        ingest(memory_warehouse, sql, make_ml100k(tmp_path / "ml-100k", items, data))


def test_movielens_1m_layout_is_refused_by_name(memory_warehouse, sql, tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n")
    (folder / "movies.dat").write_text("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n")
    with pytest.raises(IngestError, match=r"MovieLens 1M / 10M .* not supported; supported: MovieLens CSV .*100K"):
        ingest(memory_warehouse, sql, folder)


def test_a_folder_without_movielens_files_names_the_supported_layouts(memory_warehouse, sql, tmp_path):
    with pytest.raises(IngestError, match=r"holds no MovieLens data set .*supported: MovieLens CSV .*MovieLens 100K"):
        ingest(memory_warehouse, sql, tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_an_empty_ratings_file_is_reported_as_empty(memory_warehouse, sql, tmp_path, content):
    folder = make_movielens(tmp_path / "ml")
    (folder / "ratings.csv").write_bytes(content)
    with pytest.raises(IngestError, match=r"ratings.csv.*: is empty \(expected the header line 'userId,movieId"):
        ingest(memory_warehouse, sql, folder)


def test_a_broken_gzip_file_is_refused_in_one_line(memory_warehouse, sql, tmp_path):
    folder = make_movielens(tmp_path / "ml")
    (folder / "ratings.csv").unlink()
    (folder / "ratings.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(IngestError, match=r"ratings.csv.gz: cannot be read"):
        ingest(memory_warehouse, sql, folder)
