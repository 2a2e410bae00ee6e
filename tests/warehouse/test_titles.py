"""Titles read as people write them: every article MovieLens moved to the end goes back to the
front, in the main title and in each alternate title, over the whole bundled catalogue."""

import re

import pytest

from recommender.datasets import bundled_dir
from recommender.warehouse.ingest import ingest

ARTICLES = ("The", "A", "An", "Le", "La", "Les", "El", "Los", "Las", "Il", "Lo", "Gli", "Das", "Der", "Die")
TRAILING = re.compile(r", (" + "|".join(ARTICLES) + r"|L')$")


@pytest.fixture(scope="module")
def catalogue():
    import duckdb

    from recommender.config import SQL_DIR
    from recommender.sqlfiles import SqlLibrary
    from recommender.warehouse.migrations import migrate

    con = duckdb.connect()
    migrate(con, SQL_DIR)
    ingest(con, SqlLibrary(SQL_DIR), bundled_dir())
    rows = con.execute("select r.title, c.title from raw_movies r join catalog c using (movie_id)").fetchall()
    con.close()
    return rows


def _parts(title: str) -> list[str]:
    """The main title and each parenthesised alternate that ends it."""
    bare = re.sub(r"\s*\(\d{4}(?:[–-]\d{0,4})?\)$", "", title.strip())
    main, chain = re.fullmatch(r"(.*?)((?: \([^()]*\))*)", bare).groups()
    return [main, *re.findall(r"\(([^()]*)\)", chain)]


def test_no_part_of_any_title_ends_with_an_article(catalogue):
    for raw, clean in catalogue:
        assert not any(TRAILING.search(part) for part in _parts(clean)), (raw, clean)


def test_every_moved_article_leads_its_part_and_nothing_else_changes(catalogue):
    moved = 0
    for raw, clean in catalogue:
        before, after = _parts(raw), _parts(clean)
        assert len(before) == len(after), (raw, clean)
        for old, new in zip(before, after):
            found = TRAILING.search(old)
            if found is None:
                assert new == old, (raw, clean)
                continue
            moved += 1
            article = found.group(1)
            assert new == article + ("" if article.endswith("'") else " ") + old[: found.start()], (raw, clean)
    assert moved > 1_800  # about 1,650 "The" alone in ml-latest-small


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("City of Lost Children, The (Cité des enfants perdus, La) (1995)", "The City of Lost Children (La Cité des enfants perdus)"),
        ("Postman, The (Postino, Il) (1994)", "The Postman (Il Postino)"),
        ("Hate (Haine, La) (1995)", "Hate (La Haine)"),
        ("Léon: The Professional (a.k.a. The Professional) (Léon) (1994)", "Léon: The Professional (a.k.a. The Professional) (Léon)"),
    ],
)  # fmt: skip
def test_the_examples(catalogue, raw, clean):
    assert (raw, clean) in catalogue
