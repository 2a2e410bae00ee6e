"""The folder layouts the ingest reads: every MovieLens edition (the CSV ones, gzip-compressed
or not; 1M and 10M's '::' files; 100K), and what it refuses."""

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


# MovieLens 1M: '::'-separated, Latin-1, "Children's"; 10M: UTF-8 (unzips to ml-10M100K/), tags.dat.
ML1M_MOVIES = [
    "1::Toy Story (1995)::Animation|Children's|Comedy",
    "2::Café au Lait (1994)::Comedy",
    "3::City Hall: Part One (1996)::Drama|Thriller",
]
ML1M_RATINGS = ["1::1::5::978300760", "1::3::3::978302109", "2::2::4::978301968", "2::1::2::978300275"]


def make_dat(folder, movies=ML1M_MOVIES, ratings=ML1M_RATINGS, encoding="latin-1", tags=None):
    folder.mkdir(parents=True)
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode(encoding))
    (folder / "ratings.dat").write_text("\n".join(ratings) + "\n")
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")  # ML-1M's: not read
    if tags is not None:
        (folder / "tags.dat").write_bytes(("\n".join(tags) + "\n").encode(encoding))
    return folder


def test_movielens_1m_is_read_into_the_same_tables(memory_warehouse, sql, tmp_path):
    ingest(memory_warehouse, sql, make_movielens(tmp_path / "csv"))  # tags from before must go
    ingest(memory_warehouse, sql, make_dat(tmp_path / "ml-1m"))
    movies = {m: (t, g) for m, t, g in memory_warehouse.execute("select * from raw_movies").fetchall()}
    assert movies[1] == ("Toy Story (1995)", "Animation|Children|Comedy")
    assert movies[2] == ("Café au Lait (1994)", "Comedy")  # Latin-1 decoded
    assert movies[3] == ("City Hall: Part One (1996)", "Drama|Thriller")  # one colon is part of a title
    ratings = memory_warehouse.execute("select user_id, movie_id, rating, ts from raw_ratings order by ts").fetchall()
    assert ratings == [(2, 1, 2.0, 978300275), (1, 1, 5.0, 978300760), (2, 2, 4.0, 978301968), (1, 3, 3.0, 978302109)]
    assert memory_warehouse.execute("select count(*) from raw_tags").fetchall()[0][0] == 0
    catalog = dict(memory_warehouse.execute("select movie_id, year from catalog").fetchall())
    assert catalog == {1: 1995, 2: 1994, 3: 1996}


def test_movielens_10m_is_read_with_its_tags_in_utf8(memory_warehouse, sql, tmp_path):
    movies = ["1::Toy Story (1995)::Adventure|Animation|Children", "2::Amélie (2001)::Comedy|Romance"]
    ratings = ["5::1::4.5::1212345678", "5::2::0.5::1212345679"]
    tags = ["5::2::très drôle::1212345680", "5::1::pixar::1212345681"]
    folder = make_dat(tmp_path / "ml-10M100K", movies, ratings, encoding="utf-8", tags=tags)
    result = ingest(memory_warehouse, sql, folder)
    assert sorted(f.path.name for f in result.files) == ["movies.dat", "ratings.dat", "tags.dat"]
    assert memory_warehouse.execute("select title from raw_movies where movie_id = 2").fetchall() == [("Amélie (2001)",)]
    assert memory_warehouse.execute("select rating from raw_ratings order by ts").fetchall() == [(4.5,), (0.5,)]
    assert sorted(memory_warehouse.execute("select tag from raw_tags").fetchall()) == [("pixar",), ("très drôle",)]


@pytest.mark.parametrize(
    "movies,ratings,pattern",
    [
        (ML1M_MOVIES, ML1M_RATINGS[:2] + ["2::2::9::978301968"], r"ratings.dat line 3: rating 9.0 is outside"),
        (ML1M_MOVIES, ML1M_RATINGS + ["2::7::4::978301968"], r"ratings.dat line 5: movie id 7 is not in movies.dat"),
        (ML1M_MOVIES, ["1,1,5,978300760"], r"ratings.dat line 1: .*1,1,5,978300760"),
        (ML1M_MOVIES + [ML1M_MOVIES[0]], ML1M_RATINGS, r"movies.dat line 4: movie id 1 is listed twice \(first on line 1\)"),
    ],
)
def test_bad_movielens_dat_rows_are_refused_with_file_and_line(memory_warehouse, sql, tmp_path, movies, ratings, pattern):
    with pytest.raises(IngestError, match=pattern):
        ingest(memory_warehouse, sql, make_dat(tmp_path / "ml-1m", movies, ratings))


@pytest.mark.parametrize("edition", ["ml-20m", "ml-32m"])
def test_the_20m_and_32m_csv_editions_load_with_their_extra_files(memory_warehouse, sql, tmp_path, edition):
    """ml-20m ships the tag genome (genome-scores.csv, genome-tags.csv) and ml-32m a
    checksums.txt beside the four CSVs; the ingest reads the four and ignores the rest."""
    folder = make_movielens(tmp_path / edition)
    if edition == "ml-20m":
        (folder / "genome-tags.csv").write_text("tagId,tag\n1,007\n")
        (folder / "genome-scores.csv").write_text("movieId,tagId,relevance\n1,1,0.025\n")
    else:
        (folder / "checksums.txt").write_text("0123456789abcdef  ratings.csv\n")
    reference = make_movielens(tmp_path / "reference")
    ingest(memory_warehouse, sql, reference)
    expected = memory_warehouse.execute("select * from raw_ratings order by all").fetchall()
    result = ingest(memory_warehouse, sql, folder, force=True)
    assert sorted(f.path.name for f in result.files) == ["links.csv", "movies.csv", "ratings.csv", "tags.csv"]
    assert memory_warehouse.execute("select * from raw_ratings order by all").fetchall() == expected


def test_a_folder_without_movielens_files_names_the_supported_layouts(memory_warehouse, sql, tmp_path):
    with pytest.raises(IngestError, match=r"holds no MovieLens data set .*supported: MovieLens CSV .*MovieLens 1M / 10M .*MovieLens 100K"):
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
