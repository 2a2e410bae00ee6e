"""The baseline for the serving benchmark: a bare Litestar endpoint returning a constant
list of 10 items shaped like /recommend's (no DuckDB, no cache, no logging)."""

from __future__ import annotations

import msgspec
from litestar import Litestar, get


class Item(msgspec.Struct, frozen=True):
    movie_id: int
    title: str
    year: int
    genres: list[str]
    score: float


ITEMS = [Item(i, f"Movie {i}", 1990 + i, ["Drama", "Comedy"], 1.0 / (i + 1)) for i in range(10)]


@get("/items")
async def items() -> list[Item]:
    return ITEMS


app = Litestar([items])
